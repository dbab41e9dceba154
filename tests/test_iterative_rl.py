"""Iterative RL: the replay arithmetic, and two rounds end to end on the tiny model through
`prover train iterative-grpo`, with resume after the first round."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from prover.cli import main
from verifier_train.iterative_rl import IterativeRecipe, replay_sample

pytest.importorskip("trl")
RECIPE = Path(__file__).resolve().parents[1] / "verifier_train/recipes/iterative-grpo-tiny-cpu.yaml"


def test_replay_is_ten_percent_of_the_mix():
    history = [{"k": k} for k in range(100)]
    picked = replay_sample(history, fresh=90, share=0.1, rng=random.Random(0))
    assert len(picked) == 10 and len({p["k"] for p in picked}) == 10
    assert replay_sample(history[:3], fresh=90, share=0.1, rng=random.Random(0)) != []
    assert len(replay_sample(history[:3], 90, 0.1, random.Random(0))) == 3  # all there is
    assert replay_sample(history, fresh=90, share=0.0, rng=random.Random(0)) == []
    with pytest.raises(ValueError):
        IterativeRecipe(replay=1.0)


def run(tiny_model, out: Path, *extra: str):
    cmd = ["train", "iterative-grpo", "gym:basic_arithmetic:4", "--recipe", str(RECIPE),
           "--model", str(tiny_model), "--out", str(out), *extra]  # fmt: skip
    return CliRunner().invoke(main, cmd)


def test_two_rounds_then_resume(tiny_model, tmp_path):
    out = tmp_path / "it"
    first = run(tiny_model, out, "--rounds", "1")
    assert first.exit_code == 0, first.output
    state = json.loads((out / "state.json").read_text())
    assert [r["round"] for r in state["rounds"]] == [0]
    fresh0 = (out / "round-0" / "rm-data.jsonl").read_text().splitlines()
    assert len(fresh0) <= 8 and all("label" in json.loads(line) for line in fresh0)
    # Round 1 resumes from round 0's models; a torn GRPO checkpoint folder is ignored.
    (out / "round-1" / "policy" / "checkpoint-9").mkdir(parents=True)
    second = run(tiny_model, out)
    assert second.exit_code == 0, second.output
    state = json.loads((out / "state.json").read_text())
    assert [r["round"] for r in state["rounds"]] == [0, 1]
    assert state["rounds"][1]["policy"].endswith("round-1/policy/final")
    assert (out / "round-1" / "rm" / "final" / "config.json").exists()
    shutil.rmtree(out / "round-1" / "policy" / "checkpoint-9")
    # Nothing left to do: a third run changes nothing.
    again = run(tiny_model, out)
    assert again.exit_code == 0 and "2 rounds done" in again.output
