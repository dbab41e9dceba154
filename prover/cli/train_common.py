"""Options and helpers shared by the `prover train ...` stage commands."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import click

from prover.errors import InputError, require
from prover.models import help_text as model_help
from verifier_train.trainer_io import check_model, check_runnable


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


def load_stage(recipe: Path | None, model: str | None, name: str, cls: type) -> tuple[Any, str]:
    """(the stage's recipe dataclass, the model to train: a folder or hub id to load) from the
    YAML and the flags."""
    for module in ("trl", "datasets"):
        require(module, "train")
    from verifier_train.recipe_yaml import read_recipe, section

    settings = read_recipe(recipe) if recipe else {}
    stage = section(settings, name, cls, recipe or Path("defaults"))
    policy = model or settings.get("model")
    if not policy:
        raise InputError("no model: pass --model or set `model` in the recipe")
    check_runnable(stage)
    return stage, check_model(policy)


def steps(max_steps: int | None) -> dict[str, int]:
    return {} if max_steps is None else {"max_steps": max_steps}


def say(trainer, message: str) -> None:
    """Echo once per run, not once per rank, under `accelerate launch` / `torchrun`."""
    if trainer.is_world_process_zero():
        click.echo(message)
