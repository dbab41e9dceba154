"""Run by `accelerate launch` in tests/test_grpo_cli.py: two GRPO steps on each rank, then each
rank writes a digest of its weights (before and after) so the test can check they agree."""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import torch

from verifier_train.grpo import GRPORecipe, build_trainer
from verifier_train.recipe_yaml import read_recipe, section


def length(completions, **_) -> list[float]:
    return [len(str(c)) / 40 for c in completions]


def digest(model: torch.nn.Module) -> str:
    data = b"".join(p.detach().cpu().numpy().tobytes() for p in model.parameters())
    return hashlib.sha256(data).hexdigest()


def main(model: str, recipe_path: str, out: str) -> None:
    from datasets import Dataset

    recipe = section(read_recipe(Path(recipe_path)), "grpo", GRPORecipe, Path(recipe_path))
    prompts = [f"What is {a} + {a}?" for a in range(8)]
    trainer = build_trainer(model, Dataset.from_dict({"prompt": prompts}), [length], recipe, out)
    before = digest(trainer.model)
    trainer.train()
    rank = trainer.accelerator.process_index
    record = {"world_size": trainer.accelerator.num_processes, "before": before,
              "after": digest(trainer.model)}  # fmt: skip
    (Path(out) / f"rank{rank}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main(*sys.argv[1:])
