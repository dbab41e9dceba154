"""`prover train reward-model` (ORM or PRM on the policy's base) and `prover train
step-labels` (Math-Shepherd step labels sampled from a policy). This module only parses
options; the stages are `verifier_train.reward_model.train_reward_model` and
`verifier_train.math_shepherd.label_steps`."""

from __future__ import annotations

from pathlib import Path

import click

from prover.cli.options import backend_config, backend_options, sampling_from
from prover.cli.train_common import show, stage_options, warn
from verifier_train.trainer_io import StageRun

KINDS = ("outcome", "process")


@click.command("reward-model")
@click.argument("files", metavar="DATA...", nargs=-1, required=True,
                type=click.Path(path_type=Path, dir_okay=False))  # fmt: skip
@click.option("--kind", type=click.Choice(KINDS), default="outcome", show_default=True,
              help="outcome: {question|prompt, completion, label}; process: "
              "{question|prompt, completions: [steps], labels: [bool]} (see `prover train "
              "step-labels`).")  # fmt: skip
@stage_options("reward_model")
def reward_model(files: tuple[Path, ...], kind: str, recipe: Path | None, model: str | None,
                 out: Path, max_steps: int | None) -> None:  # fmt: skip
    """Train an outcome (ORM) or process (PRM) reward model on the policy's base. Samples
    longer than max_length are skipped (ORM) or cut after the last step that fits (PRM)."""
    from verifier_train.reward_model import RewardModelRun, train_reward_model

    run = StageRun(out, recipe, model, max_steps)
    show(train_reward_model(RewardModelRun(run, kind, files), log=warn))


@click.command("step-labels")
@click.argument("data", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Labels JSONL (appended; a re-run skips labelled records).")  # fmt: skip
@click.option("--samples", type=click.IntRange(1), default=8, show_default=True,
              help="Continuations sampled per step prefix.")  # fmt: skip
@click.option("--limit", type=click.IntRange(1), default=None, help="Use the first K records.")
@click.option("--grade-workers", type=click.IntRange(1), default=1, show_default=True,
              help="Grading processes.")  # fmt: skip
@backend_options
def step_labels(data: Path, out: Path, samples: int, limit: int | None, grade_workers: int,
                **opts) -> None:  # fmt: skip
    """Math-Shepherd step labels for {question, answer, solution} records: each step (a
    non-empty line of the solution) is labelled correct when one of --samples continuations
    of the policy (--model) from it reaches the gold answer."""
    from prover.progress import RichReporter
    from verifier_train.math_shepherd import ShepherdConfig, StepLabelsRun, label_steps

    shepherd = ShepherdConfig(samples, sampling_from(opts), grade_workers)
    config = StepLabelsRun(data, out, backend_config(opts), shepherd, limit)
    report = label_steps(config, RichReporter(), log=warn)
    click.echo(f"labelled {report.labelled} solutions ({report.steps} step prefixes sampled, "
               f"{report.already} already labelled, {report.skipped} bad records skipped, "
               f"{report.too_long} with a step past the context skipped); "
               f"labels in {out}")  # fmt: skip
