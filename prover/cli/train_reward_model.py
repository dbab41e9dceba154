"""`prover train reward-model` (ORM or PRM on the policy's base) and `prover train
step-labels` (Math-Shepherd step labels sampled from a policy)."""

from __future__ import annotations

from pathlib import Path

import click

from prover.cli.options import backend_options
from prover.cli.train_common import load_stage, say, stage_options, steps
from prover.errors import InputError
from verifier_train.trainer_io import train_and_save

KINDS = ("outcome", "process")
ARTICLE = {"outcome": "an", "process": "a"}


def _report_rejected(rejected) -> None:
    for reason in rejected:
        click.echo(f"skipped {reason}", err=True)


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
    from verifier_train.reward_data import load_examples
    from verifier_train.reward_model import RewardModelRecipe, build_trainer

    stage, policy = load_stage(recipe, model, "reward_model", RewardModelRecipe)
    examples, rejected = load_examples(kind, files)
    _report_rejected(rejected)
    if not examples:
        raise InputError(f"no usable {kind} reward-model records ({len(rejected)} skipped)")
    trainer, stats = build_trainer(kind, policy, examples, stage, out, **steps(max_steps))
    if stats.too_long or stats.truncated:
        click.echo(f"{stats.too_long} samples longer than max_length {stage.max_length} skipped, "
                   f"{stats.truncated} cut after their last step that fits", err=True)  # fmt: skip
    final = train_and_save(trainer, out)
    say(trainer, f"trained {ARTICLE[kind]} {kind} reward model from {policy} on {stats.kept} "
        f"samples ({len(rejected)} bad records skipped); model in {final}")  # fmt: skip


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
    from prover.cli.options import build_generator, sampling_from
    from prover.progress import RichReporter
    from verifier_train.math_shepherd import ShepherdConfig, label_solutions, read_solutions

    solutions, rejected = read_solutions([data], limit)
    _report_rejected(rejected)
    if not solutions:
        raise InputError(f"no usable solutions in {data} ({len(rejected)} skipped)")
    config = ShepherdConfig(samples, sampling_from(opts), grade_workers)
    report = label_solutions(solutions, lambda: build_generator(opts), out, config, RichReporter())
    click.echo(f"labelled {report.labelled} solutions ({report.steps} step prefixes sampled, "
               f"{report.already} already labelled, {len(rejected)} bad records skipped, "
               f"{report.too_long} with a step past the context skipped); "
               f"labels in {out}")  # fmt: skip
