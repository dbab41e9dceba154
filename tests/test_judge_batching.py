"""benchmarks/judge_batching.py: a random char-level verifier judges three proofs at two
micro-batch sizes and prints a ratio line per run; bad inputs stop with one line, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
SCRIPT = ROOT / "benchmarks" / "judge_batching.py"


def bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=ENV, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def test_judge_batching_prints_both_runs_at_each_size(tmp_path):
    from verifier_train.v2.toyworld.charmodel import build_char_model

    model = build_char_model(tmp_path / "verifier", hidden=32, layers=1)
    proofs = tmp_path / "gen.jsonl"
    rows = [{"problem": "Prove that if x+1 = 3 then x = 2.", "proof": f"Step 1: x = {k}",
             "score": 0.0, "kind": "label 0"} for k in range(3)]  # fmt: skip
    proofs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    done = bench("--verifier", str(model), "--proofs", str(proofs), "--count", "3",
                 "--samples", "2", "--sizes", "4,2", "--tokens", "6")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("3 generator-written proofs")
    assert [line.split()[:3] for line in lines[2:6]] == [
        ["greedy", "x", "1"],
        ["greedy", "x", "1"],
        ["T", "1", "x"],
        ["T", "1", "x"],
    ]
    assert lines[2].endswith("1.00x") and lines[-1].startswith("(ratio:")


def test_judge_batching_stops_on_bad_input_with_one_line(tmp_path):
    done = bench("--verifier", str(tmp_path), "--proofs", str(tmp_path / "none.jsonl"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].endswith(f"--verifier {tmp_path}: no model "
                                                         "there (no config.json)")  # fmt: skip
