"""Options and helpers shared by the `prover train ...` stage commands."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import click

from prover.errors import InputError, require
from prover.models import help_text as model_help


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


def check_model(model: str, option: str = "--model") -> str:
    """The name to load `model` by (a built-in name becomes its folder), or one line, before
    any data is prepared, for a model that cannot be found (an unreachable hub in seconds:
    `prover.backends.hub`). `option` is how the user named it."""
    from transformers import AutoConfig

    from prover.backends.hf import load_error_message
    from prover.backends.hub import resolve_model

    resolved = resolve_model(model, option)
    try:
        AutoConfig.from_pretrained(resolved)
    except (OSError, ValueError) as exc:
        raise InputError(load_error_message(model, exc)) from exc
    return resolved


def check_runnable(stage: Any) -> None:
    """A GPU recipe on a machine without one fails here, in one line, not deep in TRL."""
    if not getattr(stage, "bf16", False) or getattr(stage, "use_cpu", False):
        return
    import torch

    if not torch.cuda.is_available():
        raise InputError(
            "the recipe trains in bf16, which needs a GPU; on a CPU set `use_cpu: true` and "
            "`bf16: false` (see verifier_train/recipes/*-tiny-cpu.yaml)"
        )


def steps(max_steps: int | None) -> dict[str, int]:
    return {} if max_steps is None else {"max_steps": max_steps}


def last_checkpoint(out: Path) -> Path | None:
    """The newest complete checkpoint in `out` (a kill mid-save leaves one without state)."""
    done = [c for c in out.glob("checkpoint-*") if (c / "trainer_state.json").exists()]
    return max(done, key=lambda c: int(c.name.split("-")[-1]), default=None)


def train_and_save(trainer, out: Path) -> Path:
    """Train, resuming from the last complete checkpoint in `out`; save the final model."""
    checkpoint = last_checkpoint(out)
    trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    trainer.save_model(str(out / "final"))
    return out / "final"


def say(trainer, message: str) -> None:
    """Echo once per run, not once per rank, under `accelerate launch` / `torchrun`."""
    if trainer.is_world_process_zero():
        click.echo(message)
