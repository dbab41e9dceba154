"""benchmarks/v2_generator_grpo.py: its --runs reader (a table of real inputs), a bad --runs
stopping with one line before any work, and tiny end-to-end runs (slow: CI's slow step): one
of them through the verifier-reward path with exact scores, which must match the exact run."""

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


def test_a_judge_path_without_a_model_stops_with_one_line(tmp_path):
    done = bench("v2_generator_grpo.py", "--judge-path", str(tmp_path), timeout=120)
    assert done.returncode == 2
    assert last_error(done).endswith(f"error: --judge-path {tmp_path}: holds no model "
                                     "(no config.json)")  # fmt: skip


@pytest.mark.slow
def test_the_judge_path_with_exact_scores_lands_where_the_exact_run_lands(tmp_path):
    from verifier_train.v2.toyworld.charmodel import build_char_model
    from verifier_train.v2.toyworld.rows import toy_templates, vocabulary_words

    verifier = tmp_path / "verifier"  # random: it only answers the probes
    build_char_model(verifier, vocabulary_words(toy_templates()), hidden=32, layers=1)
    done = bench("v2_generator_grpo.py", "--quick", "--runs", "2x1e-4", "--judge-path",
                 str(verifier))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert any(line.startswith("2 steps x 0.0001, seed 0, judge path") for line in
               done.stdout.splitlines())  # fmt: skip
    exact, judged = json.loads(done.stdout.strip().splitlines()[-1])["runs"]
    assert (exact["path"], judged["path"]) == ("exact", "judge")
    same = ("greedy", "sampled", "reward_first", "reward_last")
    assert {k: judged[k] for k in same} == {k: exact[k] for k in same}
