"""What every training stage does around its trainer: find the model before any data is
prepared (`check_model`), refuse a GPU recipe on a CPU in one line (`check_runnable`), and
train resumably from the last complete checkpoint (`train_and_save`).

This module does not build trainers or parse options (each stage module and `prover.cli` do).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prover.errors import InputError


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
