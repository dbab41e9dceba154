"""The proof-graph store: the `GraphStore` interface and its embedded SQLite implementation.

Everything a writer adds goes in as one `Batch`, written in ONE transaction: a batch lands
whole or not at all, so a process killed mid-write (kill -9, OOM, Ctrl-C) leaves the store as
it was before the batch. Every write is an upsert keyed by stable ids (content hashes, record
keys), so writing the same batch twice changes nothing, and a run added again after a resume
adds only what is new.

SQLite specifics: WAL journal (readers never block the writer, and a crash mid-transaction
is rolled back on the next open), `synchronous=FULL` (a committed batch survives power loss),
`BEGIN IMMEDIATE` (a writer takes the write lock before reading, so two writers never deadlock
upgrading their locks), a busy timeout, and on top of it retries with backoff while another
process holds the lock, for many writers at once (scoring workers). Foreign keys with ON
DELETE CASCADE keep edges and verdicts from outliving their nodes.

This module does not know where records come from (`prover.graph.ingest`) and does not
aggregate verdicts (`prover.graph.view`).
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Protocol, TypeVar, runtime_checkable

from prover.errors import InputError, ProverError

NODE_KINDS = ("problem", "proof", "step", "lemma")
EDGE_KINDS = ("proves", "has_step", "depends_on", "refines")
VERDICT_KINDS = ("verify", "meta", "flag", "sympy", "lean")
LEAN_STATUSES = ("proved", "failed", "timeout", "not_formalized")
SCHEMA_VERSION = 1
CHUNK = 500  # ids per `IN (...)` query, well under SQLite's variable limit
T = TypeVar("T")


@dataclass(frozen=True)
class Node:
    id: str
    kind: str  # one of NODE_KINDS
    text: str  # as first seen
    norm: str = ""  # the normalized text the id was derived from
    model: str | None = None  # provenance: the model that wrote it
    prompt_version: str | None = None  # provenance: digest of the prompt templates
    created_at: float = 0.0  # provenance: unix time it was first stored
    source: str | None = None  # provenance: the run directory or scoring output
    attrs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    kind: str  # one of EDGE_KINDS
    via: str = ""  # the proof a depends_on edge was read from ("" for the other kinds)
    attrs: dict = field(default_factory=dict)


@dataclass(frozen=True)
class NodeVerdict:
    """One piece of evidence about a node; `key` makes re-adding the same evidence a no-op."""

    node: str
    kind: str  # one of VERDICT_KINDS
    key: str
    score: float | None = None
    status: str | None = None
    model: str | None = None
    prompt_version: str | None = None
    created_at: float = 0.0
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Alias:
    """A run's own id for a node (`1-r0-k0-0`), so users can name proofs as runs print them."""

    local_id: str
    source: str
    node: str


@dataclass(frozen=True)
class Source:
    path: str
    kind: str  # "solve" or "score"
    fingerprint: dict = field(default_factory=dict)
    added_at: float = 0.0


@dataclass
class Batch:
    """What one writer adds in one transaction."""

    nodes: list[Node] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    verdicts: list[NodeVerdict] = field(default_factory=list)
    aliases: list[Alias] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)


@runtime_checkable
class GraphStore(Protocol):
    """What the rest of the package needs from a store (see `prover.graph` for adding a
    server database behind it)."""

    location: str

    def write(self, batch: Batch) -> None:
        """Upsert the whole batch atomically."""

    def nodes(self, kind: str | None = None, ids: Iterable[str] | None = None) -> list[Node]: ...

    def edges(self, kind: str | None = None, nodes: Iterable[str] | None = None) -> list[Edge]:
        """Edges of `kind` touching any of `nodes` (all when None)."""

    def verdicts(
        self, kind: str | None = None, nodes: Iterable[str] | None = None
    ) -> list[NodeVerdict]: ...

    def aliases(self, local_id: str | None = None) -> list[Alias]: ...

    def sources(self) -> list[Source]: ...

    def search(self, words: list[str], kinds: tuple[str, ...]) -> list[Node]:
        """Nodes of `kinds` whose text contains every word (case-insensitive)."""

    def delete(self, node_ids: Iterable[str]) -> int:
        """Remove nodes with their edges, verdicts and aliases, atomically; returns how many."""

    def counts(self) -> dict[str, dict[str, int]]: ...

    def check(self) -> str:
        """`ok`, or what the database's own consistency checks found."""

    def close(self) -> None: ...


SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    path TEXT PRIMARY KEY, kind TEXT NOT NULL, fingerprint TEXT NOT NULL,
    added_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS nodes (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('problem', 'proof', 'step', 'lemma')),
    text TEXT NOT NULL, norm TEXT NOT NULL, model TEXT, prompt_version TEXT,
    created_at REAL NOT NULL, source TEXT, attrs TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS nodes_kind ON nodes (kind, created_at);
CREATE TABLE IF NOT EXISTS edges (
    src TEXT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    dst TEXT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('proves', 'has_step', 'depends_on', 'refines')),
    via TEXT NOT NULL, attrs TEXT NOT NULL,
    PRIMARY KEY (src, dst, kind, via));
CREATE INDEX IF NOT EXISTS edges_dst ON edges (dst, kind);
CREATE INDEX IF NOT EXISTS edges_via ON edges (via);
CREATE TABLE IF NOT EXISTS verdicts (
    node TEXT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('verify', 'meta', 'flag', 'sympy', 'lean')),
    key TEXT NOT NULL, score REAL, status TEXT, model TEXT, prompt_version TEXT,
    created_at REAL NOT NULL, detail TEXT NOT NULL,
    PRIMARY KEY (node, kind, key));
CREATE TABLE IF NOT EXISTS aliases (
    local_id TEXT NOT NULL, source TEXT NOT NULL,
    node TEXT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    PRIMARY KEY (source, local_id));
CREATE INDEX IF NOT EXISTS aliases_local ON aliases (local_id);
"""

UPSERT = {
    "sources": "INSERT INTO sources VALUES (?, ?, ?, ?, ?) ON CONFLICT (path) DO UPDATE SET "
    "kind = excluded.kind, fingerprint = excluded.fingerprint, updated_at = excluded.updated_at",
    # a claim once seen as a lemma stays a lemma; the first text and provenance stay
    "nodes": "INSERT INTO nodes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE "
    "SET kind = CASE WHEN excluded.kind = 'lemma' AND nodes.kind = 'step' THEN 'lemma' "
    "ELSE nodes.kind END",
    "edges": "INSERT INTO edges VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
    # evidence can be revised (a flag whose analysis was later rejected, a new Lean run)
    "verdicts": "INSERT INTO verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (node, kind, key) DO UPDATE SET score = excluded.score, "
    "status = excluded.status, model = excluded.model, prompt_version = excluded.prompt_version, "
    "created_at = excluded.created_at, detail = excluded.detail "
    "WHERE excluded.score IS NOT verdicts.score OR excluded.status IS NOT verdicts.status "
    "OR excluded.detail IS NOT verdicts.detail",  # unchanged evidence keeps its first time
    "aliases": "INSERT INTO aliases VALUES (?, ?, ?) ON CONFLICT (source, local_id) "
    "DO UPDATE SET node = excluded.node",
}


TABLES = ("sources", "nodes", "edges", "verdicts", "aliases")  # in the order they are written
INDEXES = {"nodes_kind", "edges_dst", "edges_via", "aliases_local"} | {
    f"sqlite_autoindex_{table}_1" for table in TABLES
}


def _row(item: object, now: float) -> tuple:
    """A dataclass as a table row: its fields in column order, dicts as JSON, an unset time
    as `now`."""
    values = []
    for spec in fields(item):
        value = getattr(item, spec.name)
        if isinstance(value, dict):
            value = json.dumps(value, ensure_ascii=False)
        elif spec.name in ("created_at", "added_at") and not value:
            value = now
        values.append(value)
    return tuple(values) + ((now,) if isinstance(item, Source) else ())  # sources.updated_at


def _busy(exc: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY / SQLITE_LOCKED: another connection holds the lock (worth a retry)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    message = str(exc)
    return "locked" in message or "busy" in message


class SQLiteStore:
    """The embedded store: one SQLite file (plus its `-wal` and `-shm` while open)."""

    def __init__(
        self,
        path: str | Path,
        create: bool = True,
        busy_timeout: float = 5.0,
        retry_for: float = 300.0,
    ):
        self.path = Path(path)
        self.location = str(self.path)
        self.retry_for = retry_for
        if not create and not self.path.is_file():
            raise InputError(f"no graph store at {self.path} (add a run to it first)")
        if self.path.is_dir():
            raise InputError(f"graph store {self.path} is a directory; give a file name")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None)
        except (OSError, sqlite3.OperationalError) as exc:
            raise InputError(f"cannot open graph store {self.path}: {exc}") from exc
        self._setup()

    def _setup(self) -> None:
        try:
            self.journal_mode = self._retry(
                lambda: self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            )
        except sqlite3.DatabaseError as exc:
            raise InputError(f"{self.path} is not a graph store: {exc}") from exc
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.execute("PRAGMA foreign_keys = ON")
        version = self.conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise InputError(f"{self.path} was written by a newer prover (schema {version})")
        if version < SCHEMA_VERSION:
            tables = {row[0] for row in self.conn.execute("SELECT name FROM sqlite_master")}
            if tables - set(TABLES) - INDEXES:
                raise InputError(f"{self.path} is an SQLite file of something else")
            self._retry(self._create_schema)

    def _create_schema(self) -> None:
        with self.transaction() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- writing -------------------------------------------------------------------------
    def _retry(self, action: Callable[[], T]) -> T:
        """`action()`, retried with jittered backoff while the database is busy (the busy
        timeout alone gives up after one wait)."""
        deadline = time.monotonic() + self.retry_for
        delay = 0.01
        while True:
            try:
                return action()
            except sqlite3.OperationalError as exc:
                if not _busy(exc):
                    raise
                if time.monotonic() > deadline:
                    raise ProverError(
                        f"graph store {self.path} stayed locked for {self.retry_for:.0f}s"
                    ) from exc
            time.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 1.0)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed when the block ends, rolled back on an error.
        The lock is taken at the start (`BEGIN IMMEDIATE`); a busy database raises
        `sqlite3.OperationalError` here (use `write`, which retries, for batches)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction:  # a failed COMMIT leaves it open
                self.conn.execute("ROLLBACK")
            raise

    def write(self, batch: Batch) -> None:
        now = time.time()
        rows = {table: [_row(item, now) for item in getattr(batch, table)] for table in TABLES}

        def once() -> None:
            with self.transaction() as conn:
                for table in TABLES:
                    if rows[table]:
                        conn.executemany(UPSERT[table], rows[table])

        self._retry(once)

    def delete(self, node_ids: Iterable[str]) -> int:
        ids = list(dict.fromkeys(node_ids))

        def once() -> int:
            removed = 0
            with self.transaction() as conn:
                for chunk in _chunks(ids):
                    marks = ",".join("?" * len(chunk))
                    # depends_on edges read from a deleted proof go with it
                    conn.execute(f"DELETE FROM edges WHERE via IN ({marks})", chunk)
                    gone = conn.execute(f"DELETE FROM nodes WHERE id IN ({marks})", chunk)
                    removed += gone.rowcount
            return removed

        return self._retry(once)

    # -- reading -------------------------------------------------------------------------
    def _select(
        self, sql: str, where: list[tuple[str, object]], ids=None, id_clause: str = ""
    ) -> list[tuple]:
        """Rows of `sql` filtered by `where` (column, value) pairs and, when `ids` is given,
        by `id_clause` (with `{marks}` for the placeholders of a chunk of ids)."""
        chunks = [None] if ids is None else list(_chunks(list(dict.fromkeys(ids))))
        rows = []
        for chunk in chunks:
            conditions = [f"{column} = ?" for column, _ in where]
            values = [value for _, value in where]
            if chunk is not None:
                conditions.append(id_clause.format(marks=",".join("?" * len(chunk))))
                values += chunk * id_clause.count("{marks}")
            condition = f" WHERE {' AND '.join(conditions)}" if conditions else ""
            rows += self.conn.execute(sql + condition, values).fetchall()
        return rows

    def nodes(self, kind: str | None = None, ids: Iterable[str] | None = None) -> list[Node]:
        where = [("kind", kind)] if kind else []
        rows = self._select("SELECT * FROM nodes", where, ids, "id IN ({marks})")
        return [_node(row) for row in rows]

    def edges(self, kind: str | None = None, nodes: Iterable[str] | None = None) -> list[Edge]:
        where = [("kind", kind)] if kind else []
        touching = "(src IN ({marks}) OR dst IN ({marks}))"
        rows = self._select("SELECT * FROM edges", where, nodes, touching)
        unique = {row[:4]: row for row in rows}  # an edge between two chunks comes twice
        return [_edge(row) for row in unique.values()]

    def verdicts(
        self, kind: str | None = None, nodes: Iterable[str] | None = None
    ) -> list[NodeVerdict]:
        where = [("kind", kind)] if kind else []
        rows = self._select("SELECT * FROM verdicts", where, nodes, "node IN ({marks})")
        return [_verdict(row) for row in rows]

    def aliases(self, local_id: str | None = None) -> list[Alias]:
        where = [("local_id", local_id)] if local_id else []
        return [Alias(*row) for row in self._select("SELECT * FROM aliases", where)]

    def sources(self) -> list[Source]:
        rows = self.conn.execute("SELECT path, kind, fingerprint, added_at FROM sources")
        return [Source(path, kind, json.loads(fp), added) for path, kind, fp, added in rows]

    def search(self, words: list[str], kinds: tuple[str, ...]) -> list[Node]:
        marks = ",".join("?" * len(kinds))
        likes = "".join(" AND text LIKE ? ESCAPE '\\'" for _ in words)
        patterns = [f"%{_escape_like(w)}%" for w in words]
        sql = f"SELECT * FROM nodes WHERE kind IN ({marks}){likes} ORDER BY created_at"
        return [_node(row) for row in self.conn.execute(sql, [*kinds, *patterns])]

    def counts(self) -> dict[str, dict[str, int]]:
        return {
            table: dict(self.conn.execute(f"SELECT kind, COUNT(*) FROM {table} GROUP BY kind"))
            for table in ("nodes", "edges", "verdicts", "sources")
        }

    def check(self) -> str:
        rows = [r[0] for r in self.conn.execute("PRAGMA integrity_check")]
        broken = self.conn.execute("PRAGMA foreign_key_check").fetchall()
        if rows != ["ok"]:
            return "; ".join(rows)
        return f"{len(broken)} dangling references" if broken else "ok"

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _chunks(items: list) -> Iterator[list]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _node(row: tuple) -> Node:
    *head, attrs = row
    return Node(*head, attrs=json.loads(attrs))


def _edge(row: tuple) -> Edge:
    *head, attrs = row
    return Edge(*head, attrs=json.loads(attrs))


def _verdict(row: tuple) -> NodeVerdict:
    *head, detail = row
    return NodeVerdict(*head, detail=json.loads(detail))


def open_store(location: str | Path, create: bool = True) -> GraphStore:
    """The store at `location`: a file path opens (or creates) an SQLite store."""
    text = str(location)
    if "://" in text:
        scheme = text.split("://", 1)[0]
        raise InputError(
            f"graph store {text}: {scheme}:// stores are not implemented (only SQLite files); "
            "see the prover.graph module documentation for adding one"
        )
    return SQLiteStore(text, create=create)


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
