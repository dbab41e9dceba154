"""`prover solve --lean` and `prover score --lean`: the formal verdict beside the informal one.

The CLI runs the tiny model against the REPL stand-in (`tests/lean_repl_standin.py`, see
test_lean.py); random weights write no Lean, so those proofs are `not_formalized`. The path to
`proved`, `timeout` and `failed` runs at library level: a scripted backend (our own `Backend`
interface) writes the statement and proof the stand-in's transcripts hold, over a real loop run
directory (test_graph.make_run), into a real graph store.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from test_graph import PROBLEM, make_run
from test_lean import FORMAL_PROOF, STANDIN, STATEMENT, invoke, scripted

from prover.backends import Sampling
from prover.cli.graph import graph_stats
from prover.graph.hooks import record_into_graph
from prover.graph.store import open_store
from prover.lean import LeanTemplates, ReplConfig, ReplProcesses
from prover.lean.crosscheck import (
    LeanSetup,
    attach_to_report,
    attach_to_scores,
    check_proofs,
    disagreement,
    score_summary,
    solve_summary,
    solve_targets,
)
from prover.progress import Reporter
from prover.rundir import RunDir, read_jsonl

REPL = f"{sys.executable} {STANDIN}"
SMALL = ["-P", "2", "-V", "2", "-K", "1", "-R", "1", "--max-tokens", "16", "--seed", "0"]
GCD = "Show that gcd(180, 168) = 12."


@pytest.fixture
def problem_file(tmp_path) -> Path:
    path = tmp_path / "p.tex"
    path.write_text("Prove that for every integer $n$, $n^2 + n$ is even.\n")
    return path


@pytest.fixture
def proof_file(tmp_path) -> Path:
    rows = [
        {"problem": "Show that $1 + 1 = 2$.", "proof": "Count.", "grade": 7, "id": "a"},
        {"problem": GCD, "proof": "Euclid's algorithm.", "grade": 0, "id": "b"},
    ]
    path = tmp_path / "proofs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


# ---------------------------------------------------------------- no toolchain


def test_lean_without_a_toolchain_is_one_line_before_any_model(
    no_lean, problem_file, proof_file, tmp_path
):
    missing = tmp_path / "no-such-model"  # loading it would fail with another message
    for args in (
        ("solve", problem_file, "--out", tmp_path / "run"),
        ("score", proof_file, "--out", tmp_path / "s.jsonl"),
    ):
        result = invoke(*args, "--model", missing, "--lean")
        assert result.exit_code == 2, result.output
        assert result.output.count("\n") == 1 and "`lake` is not on PATH" in result.output
    assert not (tmp_path / "run").exists() and not (tmp_path / "s.jsonl.run").exists()


def test_lean_options_need_lean_and_a_repl_that_exists(problem_file, tmp_path):
    missing = tmp_path / "no-such-model"
    result = invoke("solve", problem_file, "--model", missing, "--lean-repl-command", REPL)
    assert result.exit_code == 2 and "--lean-repl-command needs --lean" in result.output
    result = invoke(
        "solve", problem_file, "--model", missing, "--lean", "--lean-repl-command", "no-such-repl"
    )
    assert result.exit_code == 2 and "'no-such-repl' was not found" in result.output


# ---------------------------------------------------------------- the tiny model


def test_solve_with_lean_puts_the_formal_verdict_in_the_report_and_graph(
    tiny_model, problem_file, tmp_path
):
    out, db = tmp_path / "run", tmp_path / "g.db"
    args = ["solve", problem_file, "--model", tiny_model, "--out", out, "--graph", db, *SMALL]
    lean = ["--lean", "--lean-repl-command", REPL, "--lean-timeout", "30"]
    result = invoke(*args, *lean, "--format", "json")
    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.stdout)["problems"]
    assert entry["lean"]["status"] == "not_formalized" and entry["lean"]["stage"] == "formalize"
    assert entry["lean"]["proof"] == entry["best_proof"] and entry["disagreement"] is None
    report = json.loads((out / "report.json").read_text())
    assert report["problems"][0]["lean"] == entry["lean"]
    assert [r["proof"] for r in read_jsonl(out / "lean.jsonl")] == [entry["best_proof"]]
    store = open_store(db, create=False)
    try:
        [verdict] = store.verdicts("lean")
        assert verdict.status == "not_formalized" and verdict.model == str(tiny_model)
        assert "no Lean theorem" in verdict.detail["detail"]
    finally:
        store.close()

    resumed = invoke(*args, *lean, "--resume")  # Markdown: a table beside the proof
    assert resumed.exit_code == 0, resumed.output
    assert "## Lean cross-check" in resumed.stdout and "| not_formalized |" in resumed.stdout
    assert "lean: 0 proofs checked, 1 from the run" in resumed.stderr
    assert len(read_jsonl(out / "lean.jsonl")) == 1


def test_score_with_lean_counts_formal_verdicts_and_disagreements(tiny_model, proof_file, tmp_path):
    out, db = tmp_path / "scores.jsonl", tmp_path / "g.db"
    args = ["score", proof_file, "--model", tiny_model, "-V", "2", "--max-tokens", "8"]
    lean = ["--lean", "--lean-repl-command", REPL]
    result = invoke(*args, "--out", out, "--graph", db, *lean)
    assert result.exit_code == 0, result.output
    records = read_jsonl(out)
    assert [r["lean"]["status"] for r in records] == ["not_formalized"] * 2
    assert all(r["disagreement"] is None for r in records)  # the tiny model passes nothing
    summary = json.loads((tmp_path / "scores.summary.json").read_text())["lean"]
    assert summary["statuses"]["not_formalized"] == 2 and summary["disagreements"] == 0
    assert "Lean: proved 0, failed 0, timeout 0, not formalized 2" in result.stdout
    store = open_store(db, create=False)
    try:
        assert graph_stats(store)["verdicts"]["lean"] == 2
    finally:
        store.close()

    resumed = invoke(*args, "--out", out, "--resume", *lean)
    assert resumed.exit_code == 0, resumed.output
    assert "lean: 0 proofs checked, 2 from the run" in resumed.stderr
    assert read_jsonl(out) == records


# ---------------------------------------------------------------- scripted formal proofs


def setup(tmp_path: Path, *standin_args: str, timeout: float = 10.0) -> LeanSetup:
    command = (sys.executable, str(STANDIN), *standin_args)
    config = ReplConfig(project=tmp_path, command=command, size=1, timeout=timeout, memory_mb=None)
    return LeanSetup(ReplProcesses(config), LeanTemplates.load(), attempts=1)


def test_a_scripted_formal_proof_is_proved_and_kept_in_the_report_and_graph(tmp_path):
    make_run(tmp_path / "run", problem=PROBLEM)  # a real loop run; its best proof passes
    run = RunDir(tmp_path / "run", {}, resume=True)
    report = json.loads((run.path / "report.json").read_text())
    targets = solve_targets(report, {"1": PROBLEM})
    backend = scripted(STATEMENT, FORMAL_PROOF)  # the stand-in's transcripts hold these
    records = check_proofs(setup(tmp_path), targets, backend, Sampling(), run, Reporter())
    [record] = records.values()
    assert record["status"] == "proved" and record["stage"] == "proof"
    assert record["lean_proof"].startswith("theorem formal_statement")

    attach_to_report(report, records)
    [entry] = report["problems"]
    assert entry["mean_score"] == 1.0 and entry["disagreement"] is None
    assert "| proved |" in solve_summary(report, "md")
    again = check_proofs(setup(tmp_path), targets, scripted(), Sampling(), run, Reporter())
    assert again == records  # from lean.jsonl: the empty script is never asked

    db = tmp_path / "g.db"
    record_into_graph(db, run.path)
    store = open_store(db, create=False)
    try:
        stats = graph_stats(store)
        assert stats["lean"]["proved"] == 1 and stats["verdicts"]["lean"] == 1
    finally:
        store.close()


@pytest.mark.parametrize(
    ("standin_args", "status"),
    [(("--hang-on", "norm_num"), "timeout"), (("--crash-on", "norm_num"), "failed")],
)
def test_timeouts_and_crashes_of_the_formal_proof(tmp_path, standin_args, status):
    run = RunDir(tmp_path / "run", {"kind": "test"})
    targets = solve_targets(
        {"problems": [{"problem": "1", "best_proof": "p1", "solution": "Euclid."}]}, {"1": GCD}
    )
    lean = setup(tmp_path, *standin_args, timeout=1.0)
    backend = scripted(STATEMENT, FORMAL_PROOF)
    [record] = check_proofs(lean, targets, backend, Sampling(), run, Reporter()).values()
    assert record["status"] == status and record["stage"] == "proof"


def test_disagreements_are_flagged_both_ways():
    assert disagreement(True, "proved") is None and disagreement(False, "failed") is None
    assert disagreement(True, "not_formalized") == "informal passed, Lean not formalized"
    assert disagreement(False, "proved") == "Lean proved, informal did not pass"
    records = [{"id": "a", "mean_score": 0.0}, {"id": "b", "mean_score": 1.0}, {"id": "c"}]
    records[2]["mean_score"] = None
    lean = {
        "a": {"status": "proved"},
        "b": {"status": "timeout"},
        "c": {"status": "not_formalized"},
    }
    summary = attach_to_scores(records, lean, threshold=0.5)
    assert summary["statuses"] == {"proved": 1, "failed": 0, "timeout": 1, "not_formalized": 1}
    assert [d["id"] for d in summary["disagreeing"]] == ["a", "b"]
    text = score_summary(summary)
    assert "2 disagreement(s)" in text and "! b: informal passed, Lean timeout" in text
