"""Decontamination as a datatrove filter (DeepSeekMath rules): a document that shares an exact
10-gram with a benchmark text, or contains a 3-9 word benchmark text whole, is removed; in
segment mode only its matching segments are. The index and the normalisation of words are in
`benchmark_index`; documents are checked a batch at a time in numpy.

What happens to each document:
- text that is not a str: dropped, reason `bad_text` (it cannot be checked, so it is not
  passed on as clean);
- text longer than `max_chars`: dropped, reason `too_large` (same rule);
- empty or blank text: kept (it holds nothing to leak) and counted as `empty`;
- a match in document mode: dropped, reason `contaminated`;
- a match in segment mode: every segment (paragraph, or line) that a matched run of words
  overlaps is removed and the rest is kept, joined by one separator; when no word is left the
  document is dropped, reason `contaminated`.

Provenance. A dropped document's metadata gets `decontamination: {"matches": [{"benchmark",
"id", "ngram"}, ...]}`, one entry per benchmark item with its first matched n-gram, and it goes
to the exclusion writer with `filter_reason`. A cleaned document keeps `decontamination:
{"matches": [{"benchmark", "id"}], "removed_segments": [...]}` and no benchmark text; its
removed segments go to the exclusion writer as a document of their own (same id and metadata,
`filter_reason` `contaminated_segments`). Stats: `total`, `forwarded`, `dropped`,
`dropped_<reason>`, `contaminated_<benchmark>` (documents per benchmark source), `cleaned`,
`segments_removed`, `empty`.

This module does not read or write files (use datatrove's readers and writers), build
indexes (`benchmark_index`), catch near-copies (edited inside every 10-gram), or judge
anything else about a document (language, quality, duplicates).
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.batching import batched
from datatrove.utils.stats import MetricStats
from datatrove.utils.typeshelper import StatHints

from prover.errors import InputError
from verifier_train.data import benchmark_index
from verifier_train.data.benchmark_index import SHIPPED, BenchmarkIndex, Match

MODES = ("document", "segment")
SEGMENTS = {"paragraph": (re.compile(r"\n\s*\n"), "\n\n"), "line": (re.compile(r"\n"), "\n")}
MAX_CHARS = 10_000_000


@dataclass(frozen=True)
class DecontaminateConfig:
    """How documents are judged; see the module docstring."""

    mode: str = "document"  # or "segment"
    segments: str = "paragraph"  # segment mode: "paragraph" (blank lines) or "line"
    max_chars: int = MAX_CHARS  # longer documents are dropped unchecked
    batch_size: int = 1000  # documents scanned together

    def __post_init__(self):
        if self.mode not in MODES:
            raise InputError(f"unknown mode {self.mode!r}; use one of {', '.join(MODES)}")
        if self.segments not in SEGMENTS:
            raise InputError(f"unknown segments {self.segments!r}; use paragraph or line")
        if self.max_chars < 1 or self.batch_size < 1:
            raise InputError("max_chars and batch_size must be positive")


@dataclass(frozen=True)
class Decision:
    """What to do with one document; `removed` is the text cut out in segment mode and
    `detail` its provenance (with the matched n-grams) for the exclusion writer."""

    keep: bool
    reason: str | None = None
    removed: str | None = None
    detail: dict | None = None


KEEP = Decision(True)


class Decontaminate(BaseFilter):
    """Drop (or, in segment mode, cut) documents that contain benchmark text.

    `index` is an index file (`benchmark_index.load`, read once per worker on first use) or a
    `BenchmarkIndex`; the default is the shipped CHAMP index."""

    name = "🧼 Decontaminate"

    def __init__(
        self,
        index: str | Path | BenchmarkIndex = SHIPPED,
        mode: str = "document",
        *,
        segments: str = "paragraph",
        max_chars: int = MAX_CHARS,
        batch_size: int = 1000,
        exclusion_writer: DiskWriter | None = None,
    ):
        self.config = DecontaminateConfig(mode, segments, max_chars, batch_size)
        super().__init__(exclusion_writer, batch_size=batch_size)
        self._index = index if isinstance(index, BenchmarkIndex) else None
        self.index_path = None if self._index is not None else Path(index)
        if self.index_path is not None and not self.index_path.is_file():
            raise InputError(f"no such benchmark index: {self.index_path}")

    @property
    def index(self) -> BenchmarkIndex:
        if self._index is None:
            self._index = benchmark_index.load(self.index_path)
        return self._index

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return self.filter_batch([doc])[0]

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        return [v.keep if v.reason is None else (v.keep, v.reason) for v in self.check(batch)]

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        writer_context = (
            self.exclusion_writer if self.exclusion_writer else contextlib.nullcontext()
        )
        with writer_context as writer:
            for batch in batched(data, self.batch_size):
                with self.track_time("batch"):
                    decisions = self.check(batch)
                    kept = [
                        doc for doc, decision in zip(batch, decisions, strict=True) if decision.keep
                    ]
                    self._count(decisions, kept)
                if writer:
                    for doc, decision in zip(batch, decisions, strict=True):
                        _exclude(doc, decision, writer, rank)
                yield from kept

    def _count(self, decisions: list[Decision], kept: list[Document]) -> None:
        """The stats BaseFilter keeps (total, forwarded, dropped, dropped_<reason>, doc_len),
        added once per batch with the same result as once per document."""
        reasons = Counter(decision.reason for decision in decisions if not decision.keep)
        counts = {StatHints.total: len(decisions), StatHints.forwarded: len(kept)}
        counts[StatHints.dropped] = sum(reasons.values())
        counts.update((f"dropped_{reason}", n) for reason, n in reasons.items())
        for label, n in counts.items():
            if n:
                self.stats[label] += MetricStats(total=n, n=n, mean=1.0, min=1, max=1)
        self._add_values("doc_len", [len(doc.text) for doc in kept])
        tokens = [doc.metadata.get("token_count") for doc in kept]
        self._add_values("doc_len_tokens", [n for n in tokens if n])

    def _add_values(self, label: str, values: list[float]) -> None:
        """Add values to a stat as `stat_update(label, value=v)` would, one by one."""
        if not values:
            return
        n, total = len(values), sum(values)
        mean = total / n
        spread = sum((value - mean) ** 2 for value in values)
        batch = MetricStats(total, n, mean, min(values), max(values), spread)
        self.stats[label] += batch

    def check(self, batch: Sequence[Document]) -> list[Decision]:
        """A decision per document; cleaned documents get their new text and metadata here."""
        decisions = [self._precheck(doc.text) for doc in batch]
        todo = [i for i, decision in enumerate(decisions) if decision is None]
        every = self.config.mode == "segment"  # segment mode needs every matched span
        found = self.index.find([batch[i].text for i in todo], every) if todo else []
        for i, matches in zip(todo, found, strict=True):
            decisions[i] = self._judge(batch[i], matches) if matches else KEEP
        return decisions

    def _precheck(self, text: object) -> Decision | None:
        """The decision for a document that is not scanned, or None to scan it."""
        if not isinstance(text, str):
            return Decision(False, "bad_text")
        if len(text) > self.config.max_chars:
            return Decision(False, "too_large")
        if not text.strip():
            self.stat_update("empty")
            return KEEP
        return None

    def _judge(self, doc: Document, matches: list[Match]) -> Decision:
        for source in dict.fromkeys(self.index.items[m.item].source for m in matches):
            self.stat_update(f"contaminated_{source}")
        if self.config.mode == "segment":
            return self._cut(doc, matches)
        return self._drop(doc, matches)

    def _drop(self, doc: Document, matches: list[Match]) -> Decision:
        doc.metadata["decontamination"] = {"matches": self._provenance(matches, ngram=True)}
        return Decision(False, "contaminated")

    def _cut(self, doc: Document, matches: list[Match]) -> Decision:
        """Remove the segments that overlap a match; drop the document if no word is left."""
        pattern, joiner = SEGMENTS[self.config.segments]
        segments = pattern.split(doc.text)
        counts, hit = _hit_segments(segments, matches)
        if not any(count for i, count in enumerate(counts) if i not in hit):
            return self._drop(doc, matches)
        kept = [s for i, s in enumerate(segments) if i not in hit]
        removed = joiner.join(segments[i] for i in sorted(hit))
        doc.text = joiner.join(kept)
        detail = {"matches": self._provenance(matches, ngram=True), "removed_segments": sorted(hit)}
        doc.metadata["decontamination"] = detail | {
            "matches": self._provenance(matches, ngram=False)
        }
        self.stat_update("cleaned")
        self.stat_update("segments_removed", value=len(hit))
        return Decision(True, removed=removed, detail=detail)

    def _provenance(self, matches: list[Match], ngram: bool) -> list[dict]:
        """One entry per matched benchmark item, with its first matched n-gram if asked."""
        first = {}
        for match in matches:
            first.setdefault(match.item, match)
        entries = []
        for item, match in first.items():
            entry = {"benchmark": self.index.items[item].source, "id": self.index.items[item].id}
            if ngram:
                entry["ngram"] = self.index.ngram(match)
            entries.append(entry)
        return entries


def _exclude(doc: Document, decision: Decision, writer, rank: int) -> None:
    """Send a dropped document, or the segments cut from a kept one, to the exclusion writer."""
    if not decision.keep:
        doc.metadata["filter_reason"] = decision.reason
        writer.write(doc, rank)
    elif decision.removed:
        metadata = doc.metadata | {
            "filter_reason": "contaminated_segments",
            "decontamination": decision.detail,
        }
        writer.write(Document(decision.removed, doc.id, metadata=metadata), rank)


def _hit_segments(segments: list[str], matches: list[Match]) -> tuple[list[int], set[int]]:
    """Words per segment, and the indices of the segments that a matched word run overlaps
    (counted by the scanner that found the matches, so positions agree)."""
    scan = benchmark_index.scan([benchmark_index.normalize(s) for s in segments])
    ends = scan.first[1:]  # word index just past each segment
    hit = set()
    for match in matches:
        first = int(np.searchsorted(ends, match.start, side="right"))
        last = int(np.searchsorted(ends, match.start + match.length - 1, side="right"))
        hit.update(range(first, min(last, len(segments) - 1) + 1))
    return np.diff(scan.first).tolist(), hit
