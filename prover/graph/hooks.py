"""What `prover solve` and `prover score` do with a proof graph: `reuse_notes` before a
solve (the verified claims the graph holds for each problem, for its refinement prompts),
`record_into_graph` when a run finishes.

This module does not open a graph for any other purpose, parse runs (`prover.graph.ingest`)
or rank claims (`prover.graph.view`).
"""

from __future__ import annotations

from pathlib import Path

from prover.graph.record import Added, add_source
from prover.graph.store import open_store
from prover.graph.view import reusable_claims, reuse_note
from prover.progress import Reporter


def added_line(added: Added) -> str:
    """One line saying what a source added to the graph."""
    return (
        f"recorded {added.source} ({added.kind}): {added.proofs} proofs, {added.claims} "
        f"claims, {added.verdicts} verdicts; {added.checked} claims newly sympy-checked"
    )


def record_into_graph(db: Path, source: Path, reporter: Reporter | None = None) -> None:
    """Add a finished run or scoring output to the graph at `db` (solve/score --graph)."""
    reporter = reporter or Reporter()
    store = open_store(db)
    try:
        added = add_source(store, source)
    finally:
        store.close()
    reporter.log(f"graph {db}: " + added_line(added))
    for reason in added.skipped:
        reporter.log(f"skipped {reason}")


def reuse_notes(db: Path, problems: dict[str, str], reporter: Reporter) -> dict[str, str]:
    """{problem id: the verified claims block for its refinement prompts} (solve --reuse);
    a graph that does not exist yet has nothing to reuse."""
    if not db.is_file():
        reporter.log(f"graph {db} does not exist yet: nothing to reuse")
        return {}
    store = open_store(db, create=False)
    try:
        found = {pid: reusable_claims(store, text) for pid, text in problems.items()}
    finally:
        store.close()
    for pid, claims in found.items():
        reporter.log(f"reuse: {len(claims)} verified claims for problem {pid}")
    return {pid: reuse_note(claims) for pid, claims in found.items() if claims}
