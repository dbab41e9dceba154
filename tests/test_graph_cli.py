"""`prover graph ...`, `prover solve --graph [--reuse]` and `prover score --graph` through
CliRunner: the tiny model end to end, and run directories the real loop wrote with a scripted
backend (see test_graph.py) for content the tiny model cannot produce."""

from __future__ import annotations

import json

import networkx as nx
import pytest
from click.testing import CliRunner
from test_graph import PROBLEM, make_run

from prover.cli import main

PROBLEM_TEX = r"""\documentclass{article}
\begin{document}
\begin{enumerate}
\item Prove that for every integer $n$, $n^2 + n$ is even.
\end{enumerate}
\end{document}
"""
SMALL = ["-P", "2", "-V", "2", "-K", "1", "-R", "1", "--max-tokens", "16", "--seed", "0"]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def graph(db, *args):
    return invoke("graph", *args, "--db", db)


@pytest.fixture(scope="module")
def scripted(tmp_path_factory):
    """A graph store holding one scripted loop run (meta-verified), added through the CLI."""
    root = tmp_path_factory.mktemp("graph-cli")
    make_run(root / "run", meta=True)
    result = graph(root / "g.db", "add", root / "run")
    assert result.exit_code == 0, result.output
    assert "3 proofs, 6 claims" in result.stdout
    return root


def test_stats_and_queries(scripted):
    db = scripted / "g.db"
    stats = json.loads(graph(db, "stats", "--format", "json").stdout)
    assert stats["nodes"] == {"problem": 1, "proof": 3, "step": 6}
    assert stats["claims_verified"] == 3 and stats["problems_solved"] == 1
    assert stats["integrity"] == "ok" and stats["sympy"] == {"holds": 2, "false": 1}
    text = graph(db, "stats").stdout
    assert "claims verified: 3" in text

    found = json.loads(graph(db, "query", "claims", "consecutive", "--format", "json").stdout)
    assert len(found) == 1 and found[0]["verified"] and found[0]["proofs"] == 3
    weakest = json.loads(graph(db, "query", "weakest", "1-r0-k0-0", "--format", "json").stdout)
    assert weakest[0]["label"] == "[3] Step 3" and weakest[0]["sympy"] == "false"
    result = graph(db, "query", "unverified", "1-r1-k0-0")
    assert result.exit_code == 0 and result.stdout == ""
    result = graph(db, "query", "claims", "no such words here")
    assert result.exit_code == 0 and "no matching claims" in result.stderr


def test_show_prints_a_tree_with_verdicts(scripted):
    result = graph(scripted / "g.db", "show", "1-r1-k0-0")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("proof:") and "VERIFIED" in out
    assert "proves problem:" in out and "refines proof:" in out
    assert "[3] (3)" in out and "depends on [1] (1)" in out and "sympy holds" in out


def test_export_graphml_and_json_read_back(scripted, tmp_path):
    db = scripted / "g.db"
    shapes = []
    for name in ("g.graphml", "g.json"):
        result = graph(db, "export", tmp_path / name)
        assert result.exit_code == 0 and "10 nodes, 19 edges" in result.stdout
    back_xml = nx.read_graphml(tmp_path / "g.graphml")
    data = json.loads((tmp_path / "g.json").read_text())
    back_json = nx.node_link_graph(data, directed=True, multigraph=False, edges="edges")
    for back in (back_xml, back_json):
        shapes.append((set(back.nodes), {(u, v, a["kind"]) for u, v, a in back.edges(data=True)}))
    assert shapes[0] == shapes[1] and len(shapes[0][0]) == 10
    result = graph(db, "export", tmp_path / "g.txt")
    assert result.exit_code == 2 and "cannot tell the format" in result.output


def test_prune_and_mark(tmp_path):
    make_run(tmp_path / "run")
    db = tmp_path / "g.db"
    graph(db, "add", tmp_path / "run", "--no-sympy")
    result = graph(db, "prune", "--unverified", "--dry-run")
    assert result.stdout.strip() == "would remove 2 proofs, 3 claims, 0 problems"
    assert graph(db, "prune").stdout.strip() == "removed 0 proofs, 0 claims, 0 problems"
    graph(db, "prune", "--unverified")
    stats = json.loads(graph(db, "stats", "--format", "json").stdout)
    assert stats["nodes"] == {"problem": 1, "proof": 1, "step": 3}
    claims = json.loads(graph(db, "query", "claims", "even", "--format", "json").stdout)
    result = graph(db, "mark", claims[0]["id"], "--lean", "proved", "--detail", "by omega")
    assert result.exit_code == 0 and "lean proved" in result.stdout
    stats = json.loads(graph(db, "stats", "--format", "json").stdout)
    assert stats["lean"]["proved"] == 1


def test_errors_are_one_line(tmp_path):
    result = graph(tmp_path / "none.db", "stats")
    assert result.exit_code == 2 and "no graph store" in result.output
    assert not (tmp_path / "none.db").exists()
    (tmp_path / "empty").mkdir()
    result = graph(tmp_path / "g.db", "add", tmp_path / "empty")
    assert result.exit_code == 2 and "not a run directory" in result.output
    make_run(tmp_path / "run")
    graph(tmp_path / "g.db", "add", tmp_path / "run", "--no-sympy")
    result = graph(tmp_path / "g.db", "show", "no-such-proof")
    assert result.exit_code == 2 and "no proof 'no-such-proof'" in result.output
    assert "Traceback" not in result.output


def test_solve_records_into_the_graph_and_reuses_verified_claims(tiny_model, tmp_path):
    problems = tmp_path / "problems.tex"
    problems.write_text(PROBLEM_TEX)
    db = tmp_path / "g.db"
    result = invoke("solve", problems, "--model", tiny_model, "--reuse", *SMALL)
    assert result.exit_code == 2 and "--reuse needs --graph" in result.output

    out = tmp_path / "run"
    args = ("solve", problems, "--model", tiny_model, "--out", out, "--graph", db, *SMALL)
    result = invoke(*args, "--reuse")
    assert result.exit_code in (0, 1), result.output
    assert "nothing to reuse" in result.stderr and "recorded" in result.stderr
    stats = json.loads(graph(db, "stats", "--format", "json").stdout)
    assert stats["sources"] == 1 and stats["integrity"] == "ok"

    make_run(tmp_path / "scripted", problem=PROBLEM)  # verified claims for this problem
    graph(db, "add", tmp_path / "scripted", "--no-sympy")
    result = invoke(*args, "--resume", "--reuse")  # resumed: recorded again, no change
    assert "reuse: 3 verified claims for problem 1" in result.stderr
    assert json.loads(graph(db, "stats", "--format", "json").stdout)["sources"] == 2


def test_score_records_scored_proofs(tiny_model, tmp_path):
    proofs = tmp_path / "proofs.jsonl"
    rows = [
        {"problem": PROBLEM, "proof": "Step 1. $n^2+n=n(n+1)$.\n\nStep 2. By Step 1, done.",
         "grade": 7, "id": "a"},
        {"problem": PROBLEM, "proof": "It is obvious.", "grade": 0, "id": "b"},
    ]  # fmt: skip
    proofs.write_text("".join(json.dumps(r) + "\n" for r in rows))
    db, out = tmp_path / "g.db", tmp_path / "scores.jsonl"
    args = ("score", proofs, "--model", tiny_model, "-V", "2", "--max-tokens", "8")
    result = invoke(*args, "--out", out, "--graph", db)
    assert result.exit_code == 0, result.output
    stats = json.loads(graph(db, "stats", "--format", "json").stdout)
    assert stats["nodes"]["proof"] == 2 and stats["verdicts"]["verify"] == 4
    shown = graph(db, "show", "proofs/a")
    assert (
        shown.exit_code == 0 and "[1] Step 1" in shown.stdout and "depends on [1]" in shown.stdout
    )
    result = graph(db, "add", str(out) + ".run", "--no-sympy")  # the run directory works too
    assert result.exit_code == 0 and "(score): 2 proofs" in result.stdout
