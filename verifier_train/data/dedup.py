"""The dedup stage: exact URL dedup, then exact text dedup, then MinHash near-dedup.

Single rank (what `prover data dedup` runs, `dedup_file`): `RecordReader` ->
`ExactDedupFilter("url")` -> `ExactDedupFilter("text")` -> `MinhashDedup` -> `JsonlWriter`,
one pass, the rank's documents held in memory by the MinHash step.

Many ranks (`dedup_pipelines`, `run_local`), shaped like datatrove's stock MinHash dedup so
that the local, Slurm and Ray executors run it:
1. `DedupSignatures` (N tasks): per rank, each document's URL key, text key, MinHash
   signature and band keys, and its id, written under `workdir/signatures/`;
2. `DedupBuckets` (any number of tasks): per key column (URL, text, each band), the groups
   of documents that share a key, in `workdir/buckets/`;
3. `DedupClusters` (1 task): URL duplicates, then text duplicates among the survivors, then
   verified near-duplicate clusters among those (union-find), as one removal list per rank
   in `workdir/clusters/`, each naming the kept document;
4. `DedupFilter` (the same N tasks and reader as 1): drops the listed documents.
Both ways keep the first document (in rank, then file, order) and drop the same ones.

Every dropped document gets `metadata["duplicate_of"]`: the id of the document it duplicated,
which that stage kept (a later stage may drop that one in turn: follow the chain) and, from
datatrove's exclusion writer, `filter_reason`: `duplicate_url`, `duplicate_text` or
`near_duplicate`. Bad records (invalid JSON or UTF-8, no or non-string or empty or huge
text) are counted in the reader's stats and skipped, never fatal.

This module does NOT write Parquet, shard its output, or dedup against an earlier corpus
(no index of old signatures), and a `DedupBuckets` task never splits one key column.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np
import orjson
from datatrove.data import Document, DocumentsPipeline
from datatrove.executor.local import LocalPipelineExecutor
from datatrove.io import DataFolderLike, get_datafolder
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.readers.base import BaseReader
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.pipeline.writers.jsonl import JsonlWriter
from datatrove.utils.stats import PipelineStats

from prover.errors import InputError
from verifier_train.data.dedup_exact import (
    BAD_RECORDS,
    ExactDedupFilter,
    RecordReader,
    record_of,
    text_key,
    url_key,
)
from verifier_train.data.dedup_minhash import (
    MinhashDedup,
    NearDedupConfig,
    band_keys,
    candidate_pairs,
    cluster_roots,
    run_pairs,
    signatures,
    similarity,
)
from verifier_train.data.jsonl import MAX_CHARS

GROUP = np.dtype([("key", "<u8"), ("node", "<i8")])


def _key_columns(config: NearDedupConfig) -> int:
    return 2 + config.bands


class _FolderStep(PipelineStep):
    """A stage that reads and writes under one work folder."""

    type = "🫂 - DEDUP"

    def __init__(self, folder: DataFolderLike, config: NearDedupConfig | None = None):
        super().__init__()
        self.folder = get_datafolder(folder)
        self.config = config or NearDedupConfig()


class DedupSignatures(_FolderStep):
    """Stage 1: per rank, key columns (URL, text, bands), signatures and ids to `folder`."""

    name = "🎯 dedup signatures"

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1):
        with ExitStack() as files:
            keys = [
                files.enter_context(
                    self.folder.open(f"signatures/keys/{c:03d}/{rank:05d}.bin", "wb")
                )
                for c in range(_key_columns(self.config))
            ]
            sigs = files.enter_context(self.folder.open(f"signatures/sigs/{rank:05d}.bin", "wb"))
            ids = files.enter_context(self.folder.open(f"signatures/ids/{rank:05d}.jsonl", "wb"))
            for batch in _text_batches(data or [], self.config.batch_bytes):
                with self.track_time("batch"):
                    self._write(batch, keys, sigs, ids)

    def _write(self, batch: list[Document], keys: list[IO], sigs: IO, ids: IO) -> None:
        sig = signatures([d.text for d in batch], self.config)
        exact = [[url_key(d.metadata.get("url")), text_key(d.text)] for d in batch]
        table = np.concatenate([np.array(exact, dtype=np.uint64), band_keys(sig, self.config)], 1)
        for column, f in enumerate(keys):
            f.write(np.ascontiguousarray(table[:, column]).tobytes())
        sigs.write(sig.tobytes())
        ids.write(b"".join(orjson.dumps(d.id) + b"\n" for d in batch))
        self.stat_update("documents", value=len(batch))


def _text_batches(data: DocumentsPipeline, batch_bytes: int) -> Iterator[list[Document]]:
    batch, size = [], 0
    for doc in data:
        batch.append(doc)
        size += len(doc.text)
        if size >= batch_bytes:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


class DedupBuckets(_FolderStep):
    """Stage 2: for key columns rank, rank + world_size, ..., the documents sharing a key."""

    name = "🎯 dedup buckets"

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1):
        for column in range(rank, _key_columns(self.config), world_size):
            with self.track_time("column"):
                groups = self._groups(column)
            with self.folder.open(f"buckets/{column:03d}.bin", "wb") as f:
                f.write(groups.tobytes())
            self.stat_update("grouped_documents", value=len(groups))

    def _groups(self, column: int) -> np.ndarray:
        parts = []
        for path in sorted(self.folder.list_files(f"signatures/keys/{column:03d}")):
            with self.folder.open(path, "rb") as f:
                keys = np.frombuffer(f.read(), dtype="<u8")
            rows = np.empty(len(keys), dtype=GROUP)
            rows["key"], rows["node"] = keys, (int(Path(path).stem) << 32) + np.arange(len(keys))
            parts.append(rows[keys != 0])
        rows = np.concatenate(parts) if parts else np.empty(0, GROUP)
        rows = rows[np.argsort(rows["key"], kind="stable")]
        shared = np.zeros(len(rows), dtype=bool)
        same = rows["key"][1:] == rows["key"][:-1]
        shared[1:] |= same
        shared[:-1] |= same
        return rows[shared]


Removals = dict[int, tuple[str, int, float | None]]


def _alive_keys(groups: np.ndarray, removals: Removals) -> np.ndarray:
    """The group keys, 0 where the document was already removed."""
    dropped = np.fromiter(removals, dtype=np.int64, count=len(removals))
    return np.where(np.isin(groups["node"], dropped), 0, groups["key"])


class DedupClusters(_FolderStep):
    """Stage 3 (one task): URL, then text, then verified near-duplicate removals per rank.
    Removals map node (rank << 32 | position) -> (reason, kept node, similarity or None)."""

    name = "🎯 dedup clusters"

    def run(self, data: DocumentsPipeline = None, rank: int = 0, world_size: int = 1):
        if world_size != 1:
            raise ValueError(f"{self.name} runs as one task, not {world_size}")
        removals: Removals = {}
        with self.track_time():
            for column, reason in ((0, "duplicate_url"), (1, "duplicate_text")):
                self._exact(self._load(column), reason, removals)
            self._near(removals)
            self._write(removals)

    def _load(self, column: int) -> np.ndarray:
        with self.folder.open(f"buckets/{column:03d}.bin", "rb") as f:
            return np.frombuffer(f.read(), dtype=GROUP)

    def _exact(self, groups: np.ndarray, reason: str, removals: Removals) -> None:
        kept, dropped = run_pairs(_alive_keys(groups, removals), groups["node"])
        for k, node in zip(kept.tolist(), dropped.tolist(), strict=True):
            removals[node] = (reason, k, None)

    def _near(self, removals: Removals) -> None:
        columns = [self._load(column) for column in range(2, _key_columns(self.config))]
        left, right = candidate_pairs((_alive_keys(g, removals), g["node"]) for g in columns)
        nodes = np.union1d(left, right)
        sigs = self._signatures(nodes)
        sim = similarity(sigs[np.searchsorted(nodes, left)], sigs[np.searchsorted(nodes, right)])
        ok = sim >= self.config.threshold
        self.stat_update("candidate_pairs", value=len(left))
        self.stat_update("verified_pairs", value=int(ok.sum()))
        for node, kept in cluster_roots(left[ok].tolist(), right[ok].tolist()).items():
            if node != kept:
                pair = sigs[np.searchsorted(nodes, [node, kept])]
                removals[node] = (
                    "near_duplicate",
                    kept,
                    round(float(similarity(pair[:1], pair[1:])[0]), 4),
                )

    def _signatures(self, nodes: np.ndarray) -> np.ndarray:
        """The signature rows of `nodes`, read one rank file at a time."""
        rows = np.empty((len(nodes), self.config.hashes), dtype=np.uint32)
        for rank in np.unique(nodes >> 32).tolist():
            with self.folder.open(f"signatures/sigs/{rank:05d}.bin", "rb") as f:
                sigs = np.frombuffer(f.read(), dtype=np.uint32).reshape(-1, self.config.hashes)
            mine = (nodes >> 32) == rank
            rows[mine] = sigs[nodes[mine] & 0xFFFFFFFF]
        return rows

    def _write(self, removals: Removals) -> None:
        ranks = sorted(int(Path(p).stem) for p in self.folder.list_files("signatures/ids"))
        ids = self._ids({kept for _, kept, _ in removals.values()})
        by_rank: dict[int, list[tuple[int, dict]]] = {rank: [] for rank in ranks}
        for node, (reason, kept, sim) in removals.items():
            entry = {"reason": reason, "duplicate_of": ids[kept]} | (
                {"similarity": sim} if sim is not None else {}
            )
            by_rank[node >> 32].append((node & 0xFFFFFFFF, entry))
            self.stat_update(f"removed_{reason}")
        for rank, entries in by_rank.items():
            with self.folder.open(f"clusters/{rank:05d}.jsonl", "wb") as f:
                f.writelines(orjson.dumps({"index": i} | e) + b"\n" for i, e in sorted(entries))

    def _ids(self, nodes: set[int]) -> dict[int, str]:
        ids = {}
        for rank in sorted({node >> 32 for node in nodes}):
            with self.folder.open(f"signatures/ids/{rank:05d}.jsonl", "rb") as f:
                lines = f.read().splitlines()
            ids |= {n: orjson.loads(lines[n & 0xFFFFFFFF]) for n in nodes if n >> 32 == rank}
        return ids


class DedupFilter(BaseFilter):
    """Stage 4: drop this rank's documents that `DedupClusters` listed, with their reasons."""

    name = "🎯 dedup filter"

    def __init__(self, folder: DataFolderLike, exclusion_writer: DiskWriter | None = None):
        super().__init__(exclusion_writer)
        self.folder = get_datafolder(folder)
        self._drop: dict[int, dict] = {}
        self._position = 0

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1):
        path = f"clusters/{rank:05d}.jsonl"
        if not self.folder.isfile(path):
            raise FileNotFoundError(f"{path} is missing in {self.folder.path}: run stage 3 first")
        with self.folder.open(path, "rb") as f:
            self._drop = {entry.pop("index"): entry for entry in map(orjson.loads, f)}
        self._position = 0
        yield from super().run(data, rank, world_size)

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        entry = self._drop.get(self._position)
        self._position += 1
        if entry is None:
            return True
        doc.metadata |= {k: v for k, v in entry.items() if k != "reason"}
        return False, entry["reason"]


def dedup_pipelines(
    reader: BaseReader,
    writer: DiskWriter,
    workdir: DataFolderLike,
    config: NearDedupConfig | None = None,
    exclusion_writer: DiskWriter | None = None,
) -> list[list[PipelineStep]]:
    """The four stages' pipelines, for any executor: stages 1 and 4 need the same tasks and
    reader, stage 3 one task, and each stage the previous one finished."""
    config = config or NearDedupConfig()
    return [
        [reader, DedupSignatures(workdir, config)],
        [DedupBuckets(workdir, config)],
        [DedupClusters(workdir, config)],
        [copy.deepcopy(reader), DedupFilter(workdir, exclusion_writer), writer],
    ]


def run_local(
    reader: BaseReader,
    writer: DiskWriter,
    workdir: str | Path,
    config: NearDedupConfig | None = None,
    tasks: int = 1,
    workers: int = 1,
    exclusion_writer: DiskWriter | None = None,
) -> PipelineStats | None:
    """Run the four stages with LocalPipelineExecutor; a re-run skips completed tasks."""
    config = config or NearDedupConfig()
    stages = dedup_pipelines(reader, writer, str(workdir), config, exclusion_writer)
    executor = None
    for number, (pipeline, n) in enumerate(zip(stages, (tasks, tasks, 1, tasks), strict=True), 1):
        n = min(n, _key_columns(config)) if number == 2 else n
        executor = LocalPipelineExecutor(
            pipeline, n, min(workers, n), f"{workdir}/logs/stage{number}", depends=executor
        )
    return executor.run()


@dataclass(frozen=True)
class StageCount:
    """Documents into and out of one stage, with the reasons for the ones removed."""

    name: str
    docs_in: int
    docs_out: int
    removed: dict[str, int]
    notes: dict[str, int] = field(default_factory=dict)


def _writer(folder: Path, name: str) -> JsonlWriter:
    return JsonlWriter(str(folder), f"{name}_${{rank}}.jsonl", compression=None, adapter=record_of)


def single_rank_pipeline(
    src: Path, work: Path, config: NearDedupConfig, max_chars: int = MAX_CHARS
) -> list[PipelineStep]:
    """Reader, URL, text and MinHash dedup, writer; removals go to `work/removed/`."""
    removed, paths = work / "removed", work / "paths.txt"
    paths.write_text(src.name + "\n")  # a glob_pattern would match other names too
    return [
        RecordReader(str(src.parent.resolve()), max_chars, paths_file=str(paths)),
        ExactDedupFilter("url", _writer(removed, "url")),
        ExactDedupFilter("text", _writer(removed, "text")),
        MinhashDedup(config, _writer(removed, "near")),
        _writer(work / "kept", "kept"),
    ]


def stage_counts(stats: PipelineStats) -> list[StageCount]:
    """Per-stage counts from the single-rank pipeline's stats (reader and filters)."""
    reader, *filters = [s.stats for s in stats.stats[:4]]
    read = int(reader["documents"].total)
    bad = {k: int(v.total) for k, v in reader.items() if k in BAD_RECORDS}
    counts = [StageCount("read", read + sum(bad.values()), read, bad, _notes(reader))]
    for name, step in zip(("url dedup", "text dedup", "near dedup"), filters, strict=True):
        removed = {k[8:]: int(v.total) for k, v in step.items() if k.startswith("dropped_")}
        total = int(step["total"].total)
        counts.append(StageCount(name, total, int(step["forwarded"].total), removed, _notes(step)))
    return counts


def _notes(step) -> dict[str, int]:
    return {k: int(v.total) for k, v in step.items() if k in ("missing_url", "no_url", "no_text")}


def dedup_file(
    src: Path,
    dst: Path,
    config: NearDedupConfig | None = None,
    workdir: Path | None = None,
    removed: Path | None = None,
    max_chars: int = MAX_CHARS,
) -> list[StageCount]:
    """Dedup one JSONL file into `dst` (one rank, in memory); removals to `removed`."""
    if not src.is_file():
        raise InputError(f"{src}: no such file")
    if dst.resolve() == src.resolve() or (removed and removed.resolve() == src.resolve()):
        raise InputError("the output must not overwrite the input")
    with tempfile.TemporaryDirectory(prefix="dedup-") as scratch:
        # the stages write under a folder of their own, so a user's --workdir is never wiped
        work = (workdir / "prover-dedup") if workdir else Path(scratch)
        for stale in (work / "kept", work / "removed"):
            shutil.rmtree(stale, ignore_errors=True)
        work.mkdir(parents=True, exist_ok=True)
        pipeline = single_rank_pipeline(src, work, config or NearDedupConfig(), max_chars)
        executor = LocalPipelineExecutor(
            pipeline, logging_dir=str(work / "logs"), skip_completed=False
        )
        stats = executor.run()
        _move(work / "kept" / "kept_00000.jsonl", dst)
        if removed:
            merge_removed(sorted((work / "removed").glob("*_00000.jsonl")), removed)
    return stage_counts(stats)


def _move(path: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        shutil.move(path, dst)
    else:
        dst.write_bytes(b"")


def merge_removed(parts: list[Path], dst: Path) -> None:
    """Concatenate removal records (URL, text, near order) and add `kept_id`: the end of
    each `duplicate_of` chain, a document that was kept."""
    order = {"url": 0, "text": 1, "near": 2}
    parts = sorted(parts, key=lambda p: order.get(p.name.split("_")[0], 3))
    records = [orjson.loads(line) for part in parts for line in part.read_bytes().splitlines()]
    duplicate_of = {r["id"]: r["duplicate_of"] for r in records}
    dst.parent.mkdir(parents=True, exist_ok=True)
    with dst.open("wb") as out:
        for record in records:
            kept, seen = record["duplicate_of"], {record["id"]}
            while kept in duplicate_of and kept not in seen:
                seen.add(kept)
                kept = duplicate_of[kept]
            out.write(orjson.dumps(record | {"kept_id": kept}) + b"\n")
