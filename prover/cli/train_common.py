"""Options and helpers shared by the `prover train ...` stage commands: the options every
stage has, and how a stage's notes and result are printed. The stages themselves are library
calls (`verifier_train.sft.train_sft`, `verifier_train.v2.stages.train_verifier`, ...); this
module does not read recipes or data."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from prover.models import help_text as model_help
from verifier_train.trainer_io import Trained


def stage_options(section_name: str):
    """--recipe, --model, --out and --max-steps, the same for every training stage."""
    options = [
        click.option("--recipe", type=click.Path(path_type=Path, dir_okay=False), default=None,
                     help=f"YAML with `model` and a `{section_name}` section "
                     "(see verifier_train/recipes/)."),
        click.option("--model", default=None,
                     help=model_help("to train; overrides the recipe's `model`")),
        click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
                     help="Output directory: checkpoints and logs (a re-run resumes from the "
                     "last)."),
        click.option("--max-steps", type=int, default=None,
                     help="Override the recipe's max_steps."),
    ]  # fmt: skip
    return lambda func: functools.reduce(lambda f, o: o(f), reversed(options), func)


def warn(message: str) -> None:
    """A stage's note (what it skipped) on stderr."""
    click.echo(message, err=True)


def show(trained: Trained) -> None:
    """The stage's summary line on stdout, once per run under a launcher."""
    if trained.show:
        click.echo(trained.summary)
