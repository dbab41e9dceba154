"""Iterative RL: the replay arithmetic, and two rounds end to end on the tiny model through
`prover train iterative-grpo`, with resume after the first round."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
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


@pytest.mark.slow
def test_two_ranks_sample_once_and_write_the_data_once(tmp_path):
    """Under `accelerate launch` with 2 processes the main rank samples and writes the round's
    data; the other waits and reads the same file."""
    root = Path(__file__).resolve().parents[1]
    config = root / "verifier_train/accelerate/cpu-2proc.yaml"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config),
           "--dynamo_backend", "no", str(Path(__file__).with_name("two_rank_iterative.py")),
           str(tmp_path)]  # fmt: skip
    env = os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(root)}
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    assert sorted(r["sampled"] for r in ranks) == [0, 1]
    assert [r["records"] for r in ranks] == [6, 6]  # 3 questions x 2 samples, written once
