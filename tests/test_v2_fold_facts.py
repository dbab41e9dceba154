"""benchmarks/v2_fold_facts.py runs end to end at tiny sizes and prints its comparison."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_tiny_fold_facts_run_prints_both_styles_and_the_ratio():
    script = ROOT / "benchmarks" / "v2_fold_facts.py"
    env = os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    args = ["--steps", "2", "--every", "2", "--facts", "200", "--held-out", "4"]
    done = subprocess.run([sys.executable, str(script), *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0].endswith("4 held out; 2 steps of 64")
    assert [line.split()[:2] for line in lines[2:4]] == [["results", "2"], ["columns", "2"]]
    assert lines[-1].startswith("columns / results at 2 steps: ")
