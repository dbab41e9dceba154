"""Shared fixtures: a tiny random Llama with a byte-level BPE tokenizer, built offline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from serve_fixture import transformers_server  # noqa: F401  (session-wide server)

from prover.tiny import build_tiny_model


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_model_no_template(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama-plain"), chat_template=None)


def weights_changed(before: Path, after: Path) -> bool:
    """Whether any tensor of the safetensors model in `after` differs from `before`'s."""
    import torch
    from safetensors.torch import load_file

    old, new = load_file(before / "model.safetensors"), load_file(after / "model.safetensors")
    return any(not torch.equal(old[k], new[k]) for k in old if k in new)


def logged_losses(output_dir: Path) -> list[float]:
    """The training losses a run logged in OUT/metrics.jsonl (or its last trainer_state)."""
    import json

    metrics = output_dir / "metrics.jsonl"
    if metrics.exists():
        rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    else:
        state = max(
            output_dir.glob("checkpoint-*/trainer_state.json"), key=lambda p: p.stat().st_mtime
        )
        rows = json.loads(state.read_text())["log_history"]
    return [r["loss"] for r in rows if r.get("loss") is not None]
