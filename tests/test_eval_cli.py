"""`prover eval` end to end through CliRunner with the tiny random model (accuracy ~0: the
structure is checked), resume, few-shot on MATH-style data, and one-line input errors."""

from __future__ import annotations

import json

from click.testing import CliRunner

from prover.cli import main
from prover.rundir import read_jsonl

SMALL = ["--max-tokens", "12", "--seed", "0", "--batch-size", "8", "--workers", "1"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_eval_cot_on_gym_writes_samples_and_metrics_and_resumes(tiny_model, tmp_path):
    out = tmp_path / "run"
    args = ["eval", "gym:basic_arithmetic:3", "--model", tiny_model, "-k", "2", "--out", out]
    result = invoke(*args, *SMALL)
    assert result.exit_code == 0, result.output
    samples = read_jsonl(out / "samples.jsonl")
    assert sorted((r["id"], r["index"]) for r in samples) == [
        (f"basic_arithmetic-{i}", k) for i in range(3) for k in range(2)
    ]
    for r in samples:
        assert {"text", "answer", "deepseek", "math_verify", "gold", "gym_score"} <= set(r)
        assert isinstance(r["deepseek"], bool)
    metrics = json.loads((out / "metrics.json").read_text())
    overall = metrics["metrics"]["overall"]
    assert overall["items"] == 3 and overall["samples"] == 2
    assert {"accuracy", "maj@2", "pass@1", "pass@2", "math_verify_accuracy", "gym_score"} <= set(
        overall
    )
    assert 0 <= overall["accuracy"] <= 1 and metrics["task"] == "cot"
    assert metrics["this_run"]["samples"] == 6 and metrics["data"] == "gym:basic_arithmetic:3"
    assert "accuracy" in result.stdout and "overall" in result.stdout

    before = (out / "samples.jsonl").read_text()
    again = invoke(*args, "--resume", *SMALL)
    assert again.exit_code == 0, again.output
    assert (out / "samples.jsonl").read_text() == before
    assert json.loads((out / "metrics.json").read_text())["this_run"] == {}

    refused = CliRunner().invoke(main, [str(a) for a in [*args, *SMALL]])
    assert refused.exit_code == 2 and "--resume" in refused.output
    other = CliRunner().invoke(main, [str(a) for a in [*args, "--task", "pot", "--resume"]])
    assert other.exit_code == 2 and "task" in other.output


def test_eval_fewshot_on_math_file_reports_subjects_and_levels(tiny_model, tmp_path):
    rows = [
        {"problem": f"Compute ${i}+{i}$.", "solution": f"$\\boxed{{{2 * i}}}$", "level": lvl,
         "type": subject}
        for i, (lvl, subject) in enumerate([("Level 1", "Algebra"), ("Level 2", "Geometry"),
                                            ("Level 1", "Geometry")])
    ]  # fmt: skip
    data = tmp_path / "math.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{broken\n")
    out = tmp_path / "run"
    result = invoke("eval", data, "--task", "fewshot", "--model", tiny_model, "--out", out, *SMALL)
    assert result.exit_code == 0, result.output
    assert "line 4" in result.stderr and "skipped" in result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["skipped_records"] == 1
    assert set(metrics["metrics"]["by_subject"]) == {"Algebra", "Geometry"}
    assert metrics["metrics"]["by_level"]["Level 1"]["items"] == 2
    assert "subject: Geometry" in result.stdout and "level: Level 2" in result.stdout


def test_eval_input_errors_are_one_line_exit_2(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    for data, message in [(empty, "is empty"), (tmp_path / "nope.json", "no such data file"),
                          ("gym:not_a_generator", "unknown reasoning-gym generator")]:  # fmt: skip
        result = CliRunner().invoke(main, ["eval", str(data), "--out", str(tmp_path / "o")])
        assert result.exit_code == 2, result.output
        assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_resume_without_out_is_a_user_error():
    from click.testing import CliRunner

    from prover.cli import main

    result = CliRunner().invoke(main, ["eval", "gym:basic_arithmetic:2", "--resume"])
    assert result.exit_code == 2 and "--out" in result.output
