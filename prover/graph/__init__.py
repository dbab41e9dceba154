"""The proof graph: a persistent store of proofs, their claims and every verdict on them.

Nodes are problems, proofs, and claims (`step`, or `lemma` for a stated lemma or
proposition), split from proof texts into numbered claims. Edges: `proves` (proof ->
problem), `has_step` (proof -> claim, with its position), `depends_on` (claim -> the earlier
claim or lemma its text cites: "by (2)", "from Step 3", "by Lemma 1"), `refines` (proof ->
the proof it was refined from). Verdicts, kept per piece of evidence with provenance (model,
prompt-template digest, time): verifier scores (`verify`, unreadable ones included),
meta-verifications (`meta`), issue analyses that cite a claim (`flag`), the sympy check of a
claim's equalities (`sympy`) and the Lean status (`lean`: proved, failed, timeout,
not_formalized). A claim is stored once under its normalized text (whitespace, LaTeX spacing,
`\\left`/`\\right`, single-letter variables renamed in order of appearance), so the evidence
of every proof it appears in adds up.

Modules: `store` (the `GraphStore` interface and `SQLiteStore`), `normalize`, `claims`
(splitting, citations, checkable equalities), `sympycheck`, `ingest` (records -> batch),
`record` (add, Lean verdicts, prune), `view` (summed verdicts, queries, reuse in prompts),
`export` (networkx, GraphML, JSON). The CLI is `prover graph` (`prover.cli.graph`);
`prover solve --graph PATH [--reuse]` and `prover score --graph PATH` record into it.

Storage. The default store is one SQLite file in WAL mode. Each source is written as one
transaction of idempotent upserts, so a crash mid-write leaves the previous state, and many
processes (scoring workers) can add to the same file at once: each writer takes the write
lock up front (`BEGIN IMMEDIATE`) and waits (busy timeout, then retries with backoff) while
another holds it. Readers never block writers. networkx is used for views loaded from the
store (`export.to_networkx`), not for storage.

Adding a server database (PostgreSQL, say) behind the same interface:
1. write `prover/graph/postgres.py` with a class that implements the `GraphStore` protocol
   in `store.py` (write, nodes, edges, verdicts, aliases, sources, search, delete, counts,
   check, close), with psycopg imported lazily through `prover.errors.require` and a new
   `postgres` extra in pyproject.toml;
2. use the same five tables (`sources`, `nodes`, `edges`, `verdicts`, `aliases`) with the
   same primary keys; the upserts are already in the `INSERT ... ON CONFLICT (...) DO
   UPDATE/NOTHING` form PostgreSQL accepts (attrs and detail can become JSONB);
3. `write` runs the batch in one transaction (READ COMMITTED suffices: every statement is an
   idempotent upsert keyed by content hashes and record keys) and retries on serialization
   failures and deadlocks (SQLSTATE 40001, 40P01) as the SQLite store retries on SQLITE_BUSY;
   `delete` runs its deletes in one transaction too;
4. teach `store.open_store` to return it for `postgresql://` locations, so `--db` and
   `--graph` accept a URL. Nothing above the store (ingest, view, export, CLI) changes:
   they only use the protocol.
Nothing here needs a server today.

This package does not call models, run Lean, or change run directories.
"""

from prover.graph.store import (
    Batch,
    Edge,
    GraphStore,
    Node,
    NodeVerdict,
    SQLiteStore,
    open_store,
)

__all__ = ["Batch", "Edge", "GraphStore", "Node", "NodeVerdict", "SQLiteStore", "open_store"]
