"""`prover train grpo`: GRPO on answer-graded questions, with any reward functions."""

from __future__ import annotations

from pathlib import Path

import click

from prover.cli.train_common import load_stage, say, stage_options, steps
from prover.errors import InputError
from verifier_train.trainer_io import train_and_save


@click.command()
@click.argument("data", metavar="DATA")
@stage_options("grpo")
@click.option("--limit", type=click.IntRange(1), default=None, help="Use the first N questions.")
@click.option(
    "--reward",
    "rewards",
    multiple=True,
    default=("answer",),
    show_default=True,
    help="Reward function, repeatable: answer (the project's grader), orm:PATH, "
    "prm:PATH (reward models), or module:function / file.py:function.",
)
@click.option(
    "--held-out",
    default=None,
    metavar="DATA",
    help="Questions for maj@k / pass@k at intervals (same forms as DATA).",
)
@click.option(
    "--eval-every",
    type=click.IntRange(1),
    default=50,
    show_default=True,
    help="Steps between held-out evaluations.",
)
@click.option(
    "--eval-samples",
    type=click.IntRange(1),
    default=4,
    show_default=True,
    help="k: samples per held-out question.",
)
def grpo(data: str, recipe: Path | None, model: str | None, out: Path, max_steps: int | None,
         limit: int | None, rewards: tuple[str, ...], held_out: str | None, eval_every: int,
         eval_samples: int) -> None:  # fmt: skip
    """GRPO on answer-graded questions. DATA is a GSM8K/MATH/CMATH file, `champ` or
    `gym:<generator>[:count[:seed]]`. Metrics go to OUT/metrics.jsonl; a re-run resumes."""
    from verifier_train.grpo import GRPORecipe, build_trainer
    from verifier_train.rewards import load_reward

    stage, policy = load_stage(recipe, model, "grpo", GRPORecipe)
    funcs = [load_reward(spec) for spec in rewards]
    dataset = question_dataset(data, limit, policy, stage.max_prompt_length)
    callbacks = held_out_callbacks(held_out, eval_every, eval_samples, stage)
    trainer = build_trainer(policy, dataset, funcs, stage, out, callbacks, **steps(max_steps))
    final = train_and_save(trainer, out)
    say(trainer, f"trained {policy} on {len(dataset)} questions; model in {final}")


def question_dataset(data: str, limit: int | None, policy: str, max_prompt: int):
    """Prompt/answer rows; prompts longer than `max_prompt` tokens are skipped and counted."""
    from datasets import Dataset
    from transformers import AutoTokenizer

    from prover.evaluation.data import load
    from prover.evaluation.tasks import build_prompt
    from verifier_train.grpo import fit_prompts

    loaded = load(data, limit)
    tokenizer = AutoTokenizer.from_pretrained(policy)
    rows = [{"prompt": build_prompt(i, "cot"), "answer": i.answer} for i in loaded.items]
    kept, too_long = fit_prompts(rows, tokenizer, max_prompt)
    if loaded.skipped or too_long:
        click.echo(f"skipped {len(loaded.skipped)} bad records and {too_long} prompts over "
                   f"{max_prompt} tokens", err=True)  # fmt: skip
    if not kept:
        raise InputError(f"no usable questions in {data}")
    return Dataset.from_list(kept)


def held_out_callbacks(spec: str | None, every: int, samples: int, stage) -> list:
    """A `HeldOutEval` on the held-out questions, sampling as the policy is trained to."""
    if spec is None:
        return []
    from prover.evaluation.data import load
    from verifier_train.train_metrics import HeldOutConfig, HeldOutEval

    config = HeldOutConfig(every, samples, stage.max_completion_length, stage.temperature)
    return [HeldOutEval(load(spec).items, config)]
