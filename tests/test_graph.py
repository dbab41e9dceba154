"""The proof graph: normalization and dedup, claim splitting, the SQLite store under
concurrent writers and kill -9, ingestion of real loop run directories, queries, reuse in
refinement prompts, prune and export round-trips.

Run directories come from the real loop (`prover.loop.Loop`) driven by a scripted backend
that writes structured proofs; `test_graph_cli.py` also runs the tiny model end to end."""

from __future__ import annotations

import itertools
import multiprocessing
import os
import signal
import sqlite3
import time

import networkx as nx
import pytest
from conftest import FakeBackend, Reply

from prover.errors import InputError
from prover.graph.claims import citations, dependencies, equalities, split_claims
from prover.graph.export import export, read_export, to_networkx
from prover.graph.normalize import claim_id, normalize
from prover.graph.record import add_source, mark_lean, plan_prune, prune
from prover.graph.store import Batch, Edge, Node, NodeVerdict, SQLiteStore, open_store
from prover.graph.sympycheck import check_claims
from prover.graph.view import (
    matching_claims,
    proof_steps,
    resolve,
    reusable_claims,
    reuse_note,
    summaries,
    unverified_steps,
    weakest_step,
)
from prover.loop import Loop, LoopConfig
from prover.prompts import EVAL_CLOSING, EVAL_OPENING, META_CLOSING, META_OPENING
from prover.rundir import RunDir

PROBLEM = "Prove that for every integer $n$, $n^2 + n$ is even."
DRAFT = r"""We argue in steps (draft {k}).

**Step 1.** We have $n^2 + n = n(n+1)$.

**Step 2.** Of two consecutive integers one is even, so $n(n+1)$ is even.

**Step 3.** By Step 1 and Step 2, $n^2+n$ is even; for instance $2+2=5$.
"""
FIXED = r"""1. We have $m^2+m = m\left(m+1\right)$.
2. Of two consecutive integers one is even, so $m(m+1)$ is even.
3. By (1) and (2), $m^2 + m$ is even, as $2+4 = 6$ shows for $m=2$.
"""


def graph_model(meta_score: str = "1") -> Reply:
    """Drafts first, a fixed proof after refinement; the verifier gives drafts 0 (blaming
    Step 3) and the fixed proof 1; the meta-verifier upholds every analysis."""
    drafts = itertools.count(1)

    def reply(prompt: str, i: int) -> str:
        if "checking a grader's evaluation" in prompt:
            return f"{META_OPENING}\nsound\n\n{META_CLOSING} \\boxed{{{meta_score}}}"
        if "You are grading a proof" in prompt:
            bad = "draft" in prompt.split("## Problem")[-1] or "(draft" in prompt
            analysis = "Step 3 is wrong: 2+2 is not 5." if bad else "Every step is right."
            return f"{EVAL_OPENING}\n{analysis}\n\n{EVAL_CLOSING} \\boxed{{{0 if bad else 1}}}"
        if "earlier attempts" in prompt:
            return f"## Solution\n{FIXED}\n## Self Evaluation\n{EVAL_CLOSING} \\boxed{{1}}"
        solution = DRAFT.format(k=next(drafts))
        return f"## Solution\n{solution}\n## Self Evaluation\n{EVAL_CLOSING} \\boxed{{0.5}}"

    return reply


def make_run(
    path, problem: str = PROBLEM, meta: bool = False, notes=None, meta_score: str = "1"
) -> FakeBackend:
    """A real loop run directory: round 0 makes 2 drafts (verified 0), round 1 refines the
    best into 2 copies of the fixed proof (verified 1)."""
    backend = FakeBackend(graph_model(meta_score))
    config = LoopConfig(proofs=2, verifications=2, top_k=1, rounds=1, meta=meta)
    fingerprint = {"problems": [problem], "model": "scripted", "templates": "t1"}
    run = RunDir(path, fingerprint)
    Loop(backend, backend, config, run, notes=notes).solve({"1": problem})
    return backend


@pytest.fixture
def store(tmp_path):
    with SQLiteStore(tmp_path / "graph.db") as opened:
        yield opened


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A store holding one scripted run (with meta-verification), sympy checks included."""
    root = tmp_path_factory.mktemp("graph")
    make_run(root / "run", meta=True)
    with SQLiteStore(root / "graph.db") as opened:
        added = add_source(opened, root / "run", sympy=True, timeout=10)
    return root, added


# -- normalization, claims ---------------------------------------------------------------


def test_normalization_dedups_spacing_sizing_and_renamed_variables():
    a = r"For all $n$, \; $n^2 + n = n\left(n+1\right)$."
    b = r"For  all \(m\),   $m^2+m=m(m+1)$"
    assert normalize(a) == normalize(b) == "For all $a$, $a^2+a=a(a+1)$"
    assert claim_id(a) == claim_id(b)
    assert claim_id(r"$x + y = y + x$") == claim_id(r"$\,p+q = q+p\!$")
    assert claim_id("$x+y$") != claim_id("$x+x$")  # renaming keeps the pattern
    # names of sets and text are not variables; e and i stay; commands keep their space
    assert normalize(r"$x \in \mathbb{N}$ and $e^{i x}\cdot y$") == (
        r"$a\in\mathbb{N}$ and $e^{ia}\cdot b$"
    )


def test_split_claims_labels_lists_and_paragraphs():
    claims = split_claims(DRAFT.format(k=1))
    assert [c.label for c in claims] == ["0", "Step 1", "Step 2", "Step 3"]
    assert dependencies(claims) == [(3, 1), (3, 2)]
    listed = split_claims(FIXED)
    assert [c.label for c in listed] == ["(1)", "(2)", "(3)"]
    assert dependencies(listed) == [(2, 0), (2, 1)]
    lemma = split_claims("### Lemma 1\nA lemma.\n\nStep 1. Using Lemma 1 we are done.")
    assert [c.kind for c in lemma] == ["lemma", "step"]
    assert dependencies(lemma) == [(1, 0)]
    assert [c.label for c in split_claims("First part.\n\nSecond part.")] == ["1", "2"]


def test_citations_need_a_cue_and_skip_function_values():
    assert citations("by (2) and (3), f(4) = (5)(6); see Steps 1 and 7; \\eqref{key}") == [
        ("num", "2"),
        ("num", "3"),
        ("step", "1"),
        ("step", "7"),
        ("ref", "key"),
    ]


def test_equalities_are_computations_not_definitions_or_relations():
    text = r"Let $n = 2k$. Then $n^2 = 4k^2 = 2(2k^2)$, $a \le b = c$, $3! = 6$ and $x, y = 1$."
    assert equalities(text) == [("n^2", "4k^2"), ("4k^2", "2(2k^2)"), ("3!", "6")]


def test_sympy_check_of_claims_is_time_bounded_and_tagged():
    results = check_claims(
        {
            "a": r"Indeed $n^2 + n = n(n+1)$ and $\frac12 + \frac13 = \frac56$.",
            "b": "so $2 + 2 = 5$.",
            "c": "hence $x^2 = 4$.",
            "d": "no formula here",
        },
        timeout=10,
    )
    assert results["a"][0] == "holds" and len(results["a"][1]) == 2
    assert results["b"][0] == "false"
    assert results["c"][1][0]["status"] == "not_identity" and results["c"][0] == "undecided"
    assert "d" not in results


# -- the store ---------------------------------------------------------------------------


def _batch(tag: str, size: int) -> Batch:
    nodes = [Node(f"proof:{tag}-{k}", "proof", f"proof {tag} {k}") for k in range(size)]
    verdicts = [NodeVerdict(n.id, "verify", f"{tag}/{k}", 1.0) for k, n in enumerate(nodes)]
    edges = [Edge(a.id, b.id, "refines") for a, b in zip(nodes, nodes[1:], strict=False)]
    return Batch(nodes=nodes, edges=edges, verdicts=verdicts)


def test_store_upserts_are_idempotent_and_deletes_cascade(store):
    batch = _batch("a", 3)
    store.write(batch)
    store.write(batch)
    store.write(Batch(nodes=[Node("claim:x", "step", "x")]))
    store.write(Batch(nodes=[Node("claim:x", "lemma", "x")]))  # a lemma once is a lemma
    assert store.counts()["nodes"] == {"proof": 3, "lemma": 1}
    assert store.counts()["verdicts"] == {"verify": 3}
    assert store.delete(["proof:a-1"]) == 1
    assert store.counts()["edges"] == {} and store.counts()["verdicts"] == {"verify": 2}
    assert store.check() == "ok" and store.journal_mode == "wal"


def test_store_errors_are_one_line_input_errors(tmp_path):
    with pytest.raises(InputError, match="no graph store"):
        open_store(tmp_path / "missing.db", create=False)
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    with pytest.raises(InputError, match="not a graph store"):
        open_store(tmp_path / "junk.db")
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE t (x)")
    other.close()
    with pytest.raises(InputError, match="something else"):
        open_store(tmp_path / "other.db")
    with pytest.raises(InputError, match="not implemented"):
        open_store("postgresql://host/db")


def _writer(path: str, worker: int, batches: int) -> None:
    store = SQLiteStore(path, busy_timeout=0.05)  # short: the retries must do the waiting
    for k in range(batches):
        store.write(_batch(f"w{worker}-{k}", 5))
    store.close()


def test_many_processes_write_at_once(tmp_path):
    path = str(tmp_path / "graph.db")
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_writer, args=(path, w, 20)) for w in range(4)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(60)
        assert p.exitcode == 0
    with SQLiteStore(path) as store:
        assert store.counts()["nodes"] == {"proof": 4 * 20 * 5}
        assert store.counts()["verdicts"] == {"verify": 4 * 20 * 5}
        assert store.check() == "ok"


def _hold_transaction(path: str, ready) -> None:
    store = SQLiteStore(path)
    with store.transaction() as conn:
        for k in range(2000):
            conn.execute(
                "INSERT INTO nodes VALUES (?, 'proof', 'x', '', NULL, NULL, 0, NULL, '{}')",
                (f"proof:child-{k}",),
            )
        ready.set()
        time.sleep(60)  # killed here, mid-transaction


def _write_forever(path: str) -> None:
    store = SQLiteStore(path)
    for k in range(10_000):
        store.write(_batch(f"big{k}", 400))


def test_kill_inside_a_transaction_leaves_prior_data_intact(tmp_path):
    path = str(tmp_path / "graph.db")
    with SQLiteStore(path) as store:
        store.write(_batch("before", 10))
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    child = context.Process(target=_hold_transaction, args=(path, ready))
    child.start()
    assert ready.wait(30)
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    with SQLiteStore(path) as store:
        assert store.check() == "ok"
        assert {n.id for n in store.nodes()} == {f"proof:before-{k}" for k in range(10)}
        store.write(_batch("after", 2))  # the killed writer's lock is gone
        assert len(store.nodes()) == 12


def test_kill_during_batch_writes_keeps_batches_whole(tmp_path):
    path = str(tmp_path / "graph.db")
    child = multiprocessing.get_context("fork").Process(target=_write_forever, args=(path,))
    child.start()
    time.sleep(1.0)
    os.kill(child.pid, signal.SIGKILL)
    child.join()
    with SQLiteStore(path) as store:
        assert store.check() == "ok"
        per_batch = {}
        for node in store.nodes():
            tag = node.id.split(":")[1].rsplit("-", 1)[0]
            per_batch[tag] = per_batch.get(tag, 0) + 1
        assert per_batch and set(per_batch.values()) == {400}


# -- ingestion, dedup, verdicts ----------------------------------------------------------


def test_run_directory_becomes_nodes_edges_and_verdicts(built):
    root, added = built
    assert added.kind == "solve" and added.proofs == 3 and added.skipped == []
    with SQLiteStore(root / "graph.db") as store:
        counts = store.counts()
        # 2 drafts (different preambles) + 1 fixed proof (2 samples of the same text)
        assert counts["nodes"]["proof"] == 3 and counts["nodes"]["problem"] == 1
        assert counts["edges"]["refines"] == 1 and counts["edges"]["proves"] == 3
        assert counts["verdicts"]["verify"] == 8 and counts["verdicts"]["meta"] == 4
        fixed = resolve(store, "1-r1-k0-0")
        assert resolve(store, "1-r1-k0-1") == fixed  # same text, one node
        sums = summaries(store)
        assert sums[fixed].scores == [1.0] * 4 and sums[fixed].verified


def test_same_claim_in_different_proofs_is_stored_once_and_adds_up(built):
    root, _ = built
    with SQLiteStore(root / "graph.db") as store:
        shared = claim_id("Of two consecutive integers one is even, so $n(n+1)$ is even.")
        summary = summaries(store, [shared])[shared]
        assert summary.proofs == 3 and summary.passed == 1
        assert sorted(summary.scores) == [0.0] * 4 + [1.0] * 4  # 2 drafts x 2, fixed x 4
        assert summary.verified


def test_flags_sympy_and_weakest_step(built):
    root, _ = built
    with SQLiteStore(root / "graph.db") as store:
        draft = resolve(store, "1-r0-k0-0")
        weakest = weakest_step(store, draft)
        assert weakest.label == "Step 3"
        assert weakest.summary.sympy == "false" and weakest.summary.flags == 4
        assert {s.label for s in unverified_steps(store, draft)} == {"0", "Step 3"}
        fixed = resolve(store, "1-r1-k0-0")
        steps = proof_steps(store, fixed)
        assert [s.label for s in steps] == ["(1)", "(2)", "(3)"]
        assert steps[0].summary.sympy == "holds"
        assert unverified_steps(store, fixed) == []


def test_adding_again_adds_nothing(built):
    root, _ = built
    with SQLiteStore(root / "graph.db") as store:
        before = store.counts()
        add_source(store, root / "run", sympy=False)
        assert store.counts() == before


def test_flags_of_analyses_that_meta_verification_rejects_do_not_count(tmp_path):
    make_run(tmp_path / "run", meta=True, meta_score="0")
    with SQLiteStore(tmp_path / "graph.db") as store:
        add_source(store, tmp_path / "run", sympy=False)
        flags = store.verdicts("flag")
        assert len(flags) == 4 and {v.status for v in flags} == {"rejected"}
        steps = proof_steps(store, resolve(store, "1-r0-k0-0"))
        assert [s.summary.flags for s in steps] == [0, 0, 0, 0]


def test_query_claims_by_text(built):
    root, _ = built
    with SQLiteStore(root / "graph.db") as store:
        found = matching_claims(store, "consecutive EVEN")
        assert len(found) == 1 and found[0].verified
        assert matching_claims(store, "2+2=5") == []  # only verified claims by default
        assert len(matching_claims(store, "instance", verified_only=False)) == 1
        with pytest.raises(InputError):
            matching_claims(store, "  ")


def test_lean_status_and_resolve_errors(built, tmp_path):
    root, _ = built
    with SQLiteStore(root / "graph.db") as store:
        step3 = weakest_step(store, resolve(store, "1-r0-k0-0")).summary.node.id
        mark_lean(store, step3, "failed", "type mismatch")
        mark_lean(store, step3, "timeout")  # the latest status counts
        assert summaries(store, [step3])[step3].lean == "timeout"
        with pytest.raises(InputError, match="Lean status"):
            mark_lean(store, step3, "maybe")
        with pytest.raises(InputError, match="no proof"):
            resolve(store, "nope")
        assert resolve(store, step3.split(":")[1][:12], kind="claim") == step3


def test_reuse_gives_refinement_prompts_the_verified_claims(built, tmp_path):
    root, _ = built
    with SQLiteStore(root / "graph.db") as store:
        claims = reusable_claims(store, "Prove that for every integer $k$, $k^2+k$ is even.")
        assert claims and all(c.verified for c in claims)
        assert reusable_claims(store, "Prove that there are infinitely many primes.") == []
    note = reuse_note(claims)
    backend = make_run(tmp_path / "reuse", notes={"1": note})
    refinements = [p for p in backend.prompts if "earlier attempts" in p]
    assert refinements and all(p.endswith(note) for p in refinements)
    assert "Verified statement 1:" in note


def test_prune_removes_proofs_without_verdicts_then_strays(tmp_path):
    run = tmp_path / "run"
    make_run(run)
    with SQLiteStore(tmp_path / "graph.db") as store:
        add_source(store, run, sympy=False)
        drafts = [resolve(store, f"1-r0-k0-{k}") for k in (0, 1)]
        store.delete([])  # a no-op
        store.conn.execute("DELETE FROM verdicts WHERE node = ?", (drafts[0],))
        assert plan_prune(store, older_than=3600).total == 0  # nothing that old
        plan = plan_prune(store)
        assert plan.proofs == [drafts[0]] and len(plan.claims) == 1  # its own preamble
        prune(store, plan)
        plan = plan_prune(store, unverified=True)
        assert plan.proofs == [drafts[1]]
        prune(store, plan)
        assert store.counts()["nodes"]["proof"] == 1 and store.check() == "ok"
        assert store.counts()["edges"].get("refines") is None


# -- export ------------------------------------------------------------------------------


def _shape(graph) -> tuple[set, set]:
    nodes = {(n, a["kind"], a.get("verified")) for n, a in graph.nodes(data=True)}
    return nodes, {(u, v, a["kind"]) for u, v, a in graph.edges(data=True)}


@pytest.mark.parametrize("suffix", ["graphml", "json"])
def test_export_round_trip(built, tmp_path, suffix):
    root, _ = built
    with SQLiteStore(root / "graph.db") as store:
        graph = to_networkx(store)
        out = tmp_path / f"graph.{suffix}"
        assert export(store, out) == (graph.number_of_nodes(), graph.number_of_edges())
    back = read_export(out)
    assert isinstance(back, nx.DiGraph) and back.is_directed()
    assert _shape(back) == _shape(graph)
    kinds = {a["kind"] for _, _, a in back.edges(data=True)}
    assert kinds == {"proves", "has_step", "depends_on", "refines"}
