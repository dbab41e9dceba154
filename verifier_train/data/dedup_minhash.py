"""MinHash near-dedup: fast word shingles, rensa signatures, LSH bands, verified clusters.

Shingles are word n-grams hashed in numpy over a whole batch of documents at once: the texts
are lower-cased (`str.lower`), encoded and joined, words are maximal runs of ASCII letters,
digits, `_` or non-ASCII bytes, each word gets a position-independent 64-bit polynomial
hash from one prefix sum, and each n-gram combines its words' hashes with per-position
constants. No Python loop runs per word or per shingle, and no tokenizer model is loaded.
A document with fewer words than the shingle size has one shingle (all its words); one with
no words has no signature and is never a duplicate. Signatures are rensa's R-MinHash over
the shingle hashes (`RMinHash.digest_matrix_from_flat_token_hashes`), a batch per call.

Two documents are candidates when all `rows` slots of one of the `bands` bands agree; a
candidate pair counts when its estimated Jaccard (the share of equal slots over all `hashes`)
is at least `threshold`. Verified pairs are joined into clusters (union-find); the first
document of a cluster (smallest position) is kept and each other one is dropped with the
reason `near_duplicate`, `metadata["duplicate_of"]` (the kept id) and
`metadata["similarity"]` (its estimated Jaccard with the kept document). A pair of Jaccard
s is found with probability 1 - (1 - s**rows)**bands: above 0.94 for s >= 0.8 with 16 x 8.

`MinhashDedup` is the single-rank step: it holds its rank's documents in memory and yields
the kept ones. This module does NOT dedup across ranks (the multi-stage steps in
`verifier_train.data.dedup` do, with the same functions), does not split words on non-ASCII
punctuation or spaces (`—`, a no-break space), and does not compare texts exactly: a pair is
decided on its signatures alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.logging import logger
from rensa import RMinHash

from prover.errors import InputError

U64 = np.uint64
EMPTY_SLOT = np.uint32(0xFFFFFFFF)
_P = 0x100000001B3  # odd, so invertible modulo 2**64
_Q = pow(_P, -1, 1 << 64)
_POWERS: dict[int, np.ndarray] = {}  # base -> its powers modulo 2**64, grown on demand
_CONSTANTS = np.random.default_rng(0x5EED).integers(1, 1 << 63, size=64, dtype=U64) | U64(1)


@dataclass(frozen=True)
class NearDedupConfig:
    """MinHash settings; `threshold` 0 keeps every LSH candidate pair unverified."""

    shingle: int = 5
    hashes: int = 128
    bands: int = 16
    rows: int = 8
    threshold: float = 0.7
    seed: int = 1
    batch_bytes: int = 1 << 20

    def __post_init__(self) -> None:
        if not 1 <= self.shingle <= 64:
            raise InputError(f"shingle size must be 1 to 64 words, not {self.shingle}")
        if min(self.hashes, self.bands, self.rows) < 1 or self.bands * self.rows > self.hashes:
            raise InputError(
                f"need bands x rows <= hashes, got {self.bands} x {self.rows} > {self.hashes}"
            )
        if self.rows > 64 or not 0 <= self.threshold <= 1:
            raise InputError(f"rows must be <= 64 and threshold in [0, 1], got {self}")


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer, in place on a uint64 array."""
    x ^= x >> U64(30)
    x *= U64(0xBF58476D1CE4E5B9)
    x ^= x >> U64(27)
    x *= U64(0x94D049BB133111EB)
    x ^= x >> U64(31)
    return x


def _powers(base: int, n: int) -> np.ndarray:
    table = _POWERS.get(base)
    if table is None or len(table) < n:
        table = np.full(max(n, 1 << 16) * 2, base, dtype=U64)
        table[0] = 1
        table = _POWERS[base] = np.cumprod(table, dtype=U64)
    return table[:n]


def _is_word(low: np.ndarray) -> np.ndarray:
    """Word bytes of lower-cased UTF-8: a-z, 0-9, `_` and every non-ASCII byte."""
    letter = np.subtract(low, ord("a"), dtype=np.uint8) < 26
    digit = np.subtract(low, ord("0"), dtype=np.uint8) < 10
    return letter | digit | (low >= 128) | (low == ord("_"))


def _word_hashes(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(hash of each word, document of each word) for a batch of texts."""
    encoded = [text.lower().encode("utf-8", "replace") for text in texts]
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=len(encoded))
    low = np.frombuffer(b" ".join(encoded) + b" ", dtype=np.uint8)
    is_word = _is_word(low)
    edges = np.flatnonzero(is_word[1:] != is_word[:-1]) + 1
    if len(low) and is_word[0]:
        edges = np.concatenate(([0], edges))
    starts, ends = edges[0::2], edges[1::2]
    prefix = np.zeros(len(low) + 1, dtype=U64)
    np.multiply(low, _powers(_Q, len(low)), out=prefix[1:], dtype=U64)
    np.cumsum(prefix[1:], out=prefix[1:])
    words = mix64((prefix[ends] - prefix[starts]) * _powers(_P, len(low))[ends - 1])
    doc_starts = np.concatenate(([0], np.cumsum(lengths + 1)[:-1]))
    return words, np.searchsorted(doc_starts, starts, side="right") - 1


def shingle_hashes(texts: list[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(flat uint64 shingle hashes, row offsets) for a batch: row i is texts[i]'s shingles."""
    words, doc = _word_hashes(texts)
    bounds = np.searchsorted(doc, np.arange(len(texts) + 1))
    first, count = bounds[:-1], np.diff(bounds)
    acc = words * _CONSTANTS[0]
    for t in range(1, min(n, len(words))):
        acc[: len(words) - t] += words[t:] * _CONSTANTS[t]
    position = np.arange(len(words))
    keep = position + n <= bounds[1:][doc]
    short = first[(count > 0) & (count < n)]
    if len(short):
        acc[short] = _short_shingles(words, short, count[(count > 0) & (count < n)])
        keep[short] = True
    shingles = mix64(acc[keep])
    per_doc = np.bincount(doc[keep], minlength=len(texts))
    return shingles, np.concatenate(([0], np.cumsum(per_doc))).astype(U64)


def _short_shingles(words: np.ndarray, first: np.ndarray, count: np.ndarray) -> np.ndarray:
    acc = np.zeros(len(first), dtype=U64)
    for t in range(int(count.max())):
        inside = t < count
        acc[inside] += words[first[inside] + t] * _CONSTANTS[t]
    return acc


def _batches(texts: list[str], batch_bytes: int) -> Iterable[slice]:
    start, size = 0, 0
    for i, text in enumerate(texts):
        size += len(text)
        if size >= batch_bytes:
            yield slice(start, i + 1)
            start, size = i + 1, 0
    if start < len(texts):
        yield slice(start, len(texts))


def signatures(texts: list[str], config: NearDedupConfig) -> np.ndarray:
    """uint32 MinHash signatures, one row per text; a row of EMPTY_SLOT for a wordless text."""
    rows = [np.empty((0, config.hashes), dtype=np.uint32)]
    for part in _batches(texts, config.batch_bytes):
        flat, offsets = shingle_hashes(texts[part], config.shingle)
        matrix = RMinHash.digest_matrix_from_flat_token_hashes(
            flat, offsets, config.hashes, config.seed
        )
        sig = np.array(matrix.to_rows(), dtype=np.uint32).reshape(-1, config.hashes)
        sig[offsets[1:] == offsets[:-1]] = EMPTY_SLOT
        rows.append(sig)
    return np.concatenate(rows)


def band_keys(sigs: np.ndarray, config: NearDedupConfig) -> np.ndarray:
    """uint64 key per (document, band); 0 for a document without a signature."""
    keys = np.zeros((len(sigs), config.bands), dtype=U64)
    for band in range(config.bands):
        block = sigs[:, band * config.rows : (band + 1) * config.rows].astype(U64)
        keys[:, band] = mix64(block @ _CONSTANTS[: config.rows]) | U64(1)
    keys[(sigs == EMPTY_SLOT).all(axis=1)] = 0
    return keys


def run_pairs(keys: np.ndarray, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first, other) node pairs for each run of equal nonzero keys. Equal keys must come in
    ascending node order, so that the first of a run is its smallest node."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    new = np.ones(len(ordered), dtype=bool)
    new[1:] = ordered[1:] != ordered[:-1]
    firsts = order[np.flatnonzero(new)[np.cumsum(new) - 1]]
    other = ~new & (ordered != 0)
    return nodes[firsts[other]], nodes[order[other]]


def candidate_pairs(
    columns: Iterable[tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """Unique (first, other) node pairs over (keys, nodes) columns, as `run_pairs` finds them."""
    found = [run_pairs(keys, nodes) for keys, nodes in columns]
    if not found:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    pairs = np.unique(
        np.stack([np.concatenate(side) for side in zip(*found, strict=True)], axis=1), axis=0
    )
    return pairs[:, 0], pairs[:, 1]


def similarity(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Estimated Jaccard of signature rows: the share of equal slots."""
    return (left == right).mean(axis=1) if len(left) else np.empty(0)


def cluster_roots(left: Iterable[int], right: Iterable[int]) -> dict[int, int]:
    """node -> smallest node of its connected component, for every node of a pair."""
    parent: dict[int, int] = {}

    def find(node: int) -> int:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for a, b in zip(left, right, strict=True):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {node: find(node) for node in parent}


def near_duplicates(sigs: np.ndarray, config: NearDedupConfig) -> dict[int, tuple[int, float]]:
    """Row -> (kept row, estimated Jaccard with it) for every row to drop."""
    keys, rows = band_keys(sigs, config), np.arange(len(sigs))
    left, right = candidate_pairs((column, rows) for column in keys.T)
    ok = similarity(sigs[left], sigs[right]) >= config.threshold
    roots = cluster_roots(left[ok].tolist(), right[ok].tolist())
    dropped = [(node, root) for node, root in roots.items() if node != root]
    if not dropped:
        return {}
    nodes, kept = (np.array(side) for side in zip(*dropped, strict=True))
    sims = similarity(sigs[nodes], sigs[kept])
    return {int(n): (int(k), float(s)) for n, k, s in zip(nodes, kept, sims, strict=True)}


class MinhashDedup(BaseFilter):
    """Single-rank near-dedup: holds the rank's documents, keeps the first of each cluster."""

    name = "🫂 MinHash near-dedup"

    def __init__(
        self, config: NearDedupConfig | None = None, exclusion_writer: DiskWriter | None = None
    ):
        super().__init__(exclusion_writer)
        self.config = config or NearDedupConfig()
        self._docs: list[Document] = []
        self._drop: dict[int, tuple[int, float]] = {}
        self._position = 0

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1):
        if world_size > 1 and rank == 0:
            logger.warning(f"{self.name} dedups within each of the {world_size} ranks only")
        self._docs = list(data or [])
        with self.track_time():
            self._drop = near_duplicates(
                signatures([d.text for d in self._docs], self.config), self.config
            )
        self._position = 0
        yield from super().run(iter(self._docs), rank, world_size)
        self._docs = []

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        hit = self._drop.get(self._position)
        self._position += 1
        if hit is None:
            return True
        doc.metadata["duplicate_of"] = self._docs[hit[0]].id
        doc.metadata["similarity"] = round(hit[1], 4)
        return False, "near_duplicate"
