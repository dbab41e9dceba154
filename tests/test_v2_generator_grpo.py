"""benchmarks/v2_generator_grpo.py: its --runs reader (a table of real inputs), a bad --runs
stopping with one line before any work, and a tiny end-to-end run (slow: CI's slow step)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

from test_v2_verifier_curve import bench, last_error  # noqa: E402


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("80x1e-4", [(80, 1e-4)]),
        ("40x2e-4,160x5e-5", [(40, 2e-4), (160, 5e-5)]),
        ("2x0.001", [(2, 0.001)]),
    ],
)
def test_parse_runs_reads_steps_by_learning_rate(text, expected):
    from v2_generator_grpo import parse_runs

    assert parse_runs(text) == expected


@pytest.mark.parametrize("text", ["80", "80y1e-4", "0x1e-4", "80x0", "x1e-4", "80x", ""])
def test_parse_runs_refuses_malformed_runs(text):
    from v2_generator_grpo import parse_runs

    with pytest.raises(ValueError):
        parse_runs(text)


def test_bad_runs_stop_with_one_line_before_any_work():
    done = bench("v2_generator_grpo.py", "--runs", "80y1", timeout=120)
    assert done.returncode == 2
    assert last_error(done).endswith(
        "error: --runs '80y1': give STEPSxLR pairs, comma-separated (80x1e-4)"
    )


def test_bad_grpo_seeds_stop_with_one_line_before_any_work():
    done = bench("v2_generator_grpo.py", "--grpo-seeds", "0,one", timeout=120)
    assert done.returncode == 2
    assert last_error(done).endswith(
        "error: --grpo-seeds '0,one': give integers, comma-separated (0,1)"
    )


@pytest.mark.slow
def test_tiny_runs_print_the_table_and_one_json_line():
    done = bench("v2_generator_grpo.py", "--quick", "--fresh", "--runs", "2x1e-4,1x5e-5",
                 "--grpo-seeds", "0,3")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert any(line.startswith("SFT start") for line in lines)
    assert any(line.startswith("2 steps x 0.0001, seed 3") for line in lines)
    out = json.loads(lines[-1])
    assert out["fresh"] is True and [(r["steps"], r["lr"], r["seed"]) for r in out["runs"]] == [
        (2, 1e-4, 0),
        (2, 1e-4, 3),
        (1, 5e-5, 0),
        (1, 5e-5, 3),
    ]
