"""Writing to the graph: add a source, record a Lean verdict, prune.

`add_source` reads a run directory or scoring output, checks the equalities of the claims
that have no sympy verdict yet (time-bounded), and writes everything in ONE transaction.

Pruning (`prune`) removes, among proofs stored before a cutoff:
- proofs with no verdicts at all (no verification, meta-verification or Lean result), and,
  with `unverified=True`, also proofs that are not verified (did not pass, Lean did not
  prove them);
then the nodes this leaves stranded: claims that are in no remaining proof and have no Lean
verdict of their own, and problems that no remaining proof proves and that have no Lean
verdict. Their edges, verdicts and aliases go with them; `refines` edges to a removed proof
are dropped. Verified proofs are never pruned.

This module does not parse records (`prover.graph.ingest`) or sum verdicts
(`prover.graph.view`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from prover.errors import InputError
from prover.graph.ingest import build_batch, read_source, sympy_verdicts
from prover.graph.store import LEAN_STATUSES, Batch, GraphStore, NodeVerdict
from prover.graph.view import CLAIM_KINDS, summaries


@dataclass(frozen=True)
class Added:
    """What adding one source did."""

    source: str
    kind: str
    proofs: int
    claims: int
    verdicts: int
    checked: int  # claims given a sympy verdict now
    skipped: list[str] = field(default_factory=list)


def add_source(
    store: GraphStore, path: str | Path, sympy: bool = True, timeout: float = 5.0
) -> Added:
    """Add a run directory or scoring output (again: only what is new changes anything)."""
    run = read_source(path)
    batch, texts = build_batch(run)
    checked = 0
    if sympy and texts:
        from prover.graph.sympycheck import check_claims

        done = {v.node for v in store.verdicts("sympy", list(texts))}
        results = check_claims({c: t for c, t in texts.items() if c not in done}, timeout)
        batch.verdicts += sympy_verdicts(results)
        checked = len(results)
    store.write(batch)
    return Added(
        run.path,
        run.kind,
        len({n.id for n in batch.nodes if n.kind == "proof"}),
        len(texts),
        len(batch.verdicts),
        checked,
        run.skipped,
    )


def mark_lean(
    store: GraphStore, node: str, status: str, detail: str = "", model: str | None = None
) -> None:
    """Record the Lean status of a node (the latest one counts)."""
    if status not in LEAN_STATUSES:
        raise InputError(f"Lean status {status!r}: use one of {', '.join(LEAN_STATUSES)}")
    if not store.nodes(ids=[node]):
        raise InputError(f"no node {node!r} in the graph")
    score = {"proved": 1.0, "failed": 0.0}.get(status)
    verdict = NodeVerdict(node, "lean", "lean", score, status, model, detail={"detail": detail})
    store.write(Batch(verdicts=[verdict]))


@dataclass(frozen=True)
class Pruned:
    proofs: list[str]
    claims: list[str]
    problems: list[str]

    @property
    def total(self) -> int:
        return len(self.proofs) + len(self.claims) + len(self.problems)


def plan_prune(store: GraphStore, older_than: float = 0.0, unverified: bool = False) -> Pruned:
    """What `prune` would remove (see the module docstring); `older_than` in seconds."""
    cutoff = time.time() - older_than
    sums = summaries(store)
    with_verdicts = {v.node for v in store.verdicts() if v.kind in ("verify", "meta", "lean")}
    lean = {v.node for v in store.verdicts("lean")}
    proofs = [
        s.node.id
        for s in sums.values()
        if s.node.kind == "proof"
        and s.node.created_at <= cutoff
        and not s.verified
        and (unverified or s.node.id not in with_verdicts)
    ]
    gone = set(proofs)
    kept_members = {
        e.dst for e in store.edges() if e.kind in ("has_step", "proves") and e.src not in gone
    }
    stranded = [
        n.id
        for n in (s.node for s in sums.values())
        if n.kind != "proof" and n.id not in kept_members and n.id not in lean
    ]
    claims = [n for n in stranded if sums[n].node.kind in CLAIM_KINDS]
    problems = [n for n in stranded if sums[n].node.kind == "problem"]
    return Pruned(proofs, claims, problems)


def prune(store: GraphStore, plan: Pruned) -> int:
    return store.delete(plan.proofs + plan.claims + plan.problems)
