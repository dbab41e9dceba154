"""`prover train grpo`: GRPO on answer-graded questions, with any reward functions. This
module only parses options; the stage is `verifier_train.grpo.train_grpo`."""

from __future__ import annotations

from pathlib import Path

import click

from prover.cli.train_common import show, stage_options, warn
from verifier_train.trainer_io import StageRun


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
    from verifier_train.grpo import GRPORun, train_grpo

    run = StageRun(out, recipe, model, max_steps)
    config = GRPORun(run, data, limit, rewards, held_out, eval_every, eval_samples)
    show(train_grpo(config, log=warn))
