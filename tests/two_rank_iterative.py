"""Run by `accelerate launch` in tests/test_iterative_rl.py: one round of iterative RL with
stand-in sampling and trainers on each rank; each rank writes whether it sampled and how many
records the round's data file holds, so the test can check that the data is made once."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from prover.backends.base import Completion
from prover.evaluation.data import Item
from verifier_train.iterative_rl import IterativeRecipe, IterativeRL

SAMPLED: list[int] = []


class Backend:
    def generate(self, prompts, n, sampling=None, on_samples=None):
        SAMPLED.append(len(prompts))
        return [[Completion("The answer is \\boxed{4}.", 5, 5, "stop")] * n for _ in prompts]


def main(out: str) -> None:
    from accelerate import PartialState

    folder = Path(out)
    items = [Item(f"q{i}", f"What is {i} + {4 - i}?", "4") for i in range(3)]
    recipe = IterativeRecipe(rounds=1, samples_per_question=2)
    driver = IterativeRL(folder, recipe, lambda policy: Backend(), lambda *a: "rm",
                         lambda *a: "policy", lambda trainer, path: path)  # fmt: skip
    driver.run("policy-0", "rm-0", items)
    state = PartialState()  # the driver's, already set up
    rank = state.process_index
    lines = (folder / "round-0" / "rm-data.jsonl").read_text().splitlines()
    record = {"world_size": state.num_processes, "sampled": len(SAMPLED),
              "records": len(lines)}  # fmt: skip
    (folder / f"rank{rank}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main(*sys.argv[1:])
