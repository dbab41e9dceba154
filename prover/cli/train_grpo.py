"""`prover train grpo`: GRPO on answer-graded questions."""

from __future__ import annotations

from pathlib import Path

import click

from prover.cli.train_common import load_stage, stage_options, steps, train_and_save


@click.command()
@click.argument("data", metavar="DATA")
@stage_options("grpo")
@click.option("--limit", type=click.IntRange(1), default=None, help="Use the first N questions.")
def grpo(data: str, recipe: Path | None, model: str | None, out: Path, max_steps: int | None,
         limit: int | None) -> None:  # fmt: skip
    """GRPO on answer-graded questions. DATA is a GSM8K/MATH/CMATH file, `champ` or
    `gym:<generator>[:n]`; the reward is the DeepSeekMath verdict of the project's grader."""
    from verifier_train.grpo import GRPORecipe, build_trainer

    stage, policy = load_stage(recipe, model, "grpo", GRPORecipe)
    from datasets import Dataset
    from prover.evaluation.data import load
    from prover.evaluation.tasks import build_prompt
    from verifier_train.rewards import answer_reward

    rows = [{"prompt": build_prompt(i, "cot"), "answer": i.answer} for i in load(data, limit).items]
    trainer = build_trainer(policy, Dataset.from_list(rows), [answer_reward], stage, out,
                            **steps(max_steps))  # fmt: skip
    final = train_and_save(trainer, out)
    click.echo(f"trained {policy} on {len(rows)} questions; model in {final}")
