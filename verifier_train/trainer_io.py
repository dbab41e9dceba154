"""What every training stage does around its trainer: read what it is asked (`StageRun`:
the recipe, the model, the output folder) into its recipe dataclass and the model to load
(`load_stage`), find the model before any data is prepared (`check_model`), refuse a GPU
recipe on a CPU in one line (`check_runnable`), train resumably from the last complete
checkpoint (`train_and_save`), and say what was trained (`Trained`).

This module does not build trainers or parse options (each stage module and `prover.cli` do).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from prover.errors import InputError, require

Log = Callable[[str], None]  # where a stage writes what it skipped (the CLI: stderr)
R = TypeVar("R")


@dataclass(frozen=True)
class StageRun:
    """What every training stage is asked: a recipe YAML (with `model` and the stage's
    section; None: the recipe's defaults), the model to train (overrides the recipe's), the
    output folder (a re-run resumes from its last checkpoint) and a max_steps override."""

    out: Path
    recipe: Path | None = None
    model: str | None = None
    max_steps: int | None = None

    def overrides(self) -> dict[str, int]:
        """The trainer settings the run overrides in its recipe."""
        return {} if self.max_steps is None else {"max_steps": self.max_steps}


@dataclass(frozen=True)
class Trained:
    """A finished stage: its saved model and the line that says what was trained. `show` is
    False on the ranks other than the first under `accelerate launch` / `torchrun`, which
    print nothing."""

    final: Path
    summary: str
    show: bool = True


def trained(trainer: Any, final: Path, summary: str) -> Trained:
    """`Trained`, shown by the first rank only."""
    return Trained(final, summary, trainer.is_world_process_zero())


def load_stage(run: StageRun, name: str, cls: type[R]) -> tuple[R, str]:
    """(the stage's recipe dataclass: section `name` of the recipe, the model to train: a
    folder or hub id to load) from the recipe and the run; one line when the model is missing,
    cannot be found, or the recipe cannot run here."""
    for module in ("trl", "datasets"):
        require(module, "train")
    from verifier_train.recipe_yaml import read_recipe, section

    settings = read_recipe(run.recipe) if run.recipe else {}
    stage = section(settings, name, cls, run.recipe or Path("defaults"))
    policy = run.model or settings.get("model")
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
