"""Pretraining data: a weighted mixture of text sources, tokenized and packed into full blocks.

A `Source` is a name, some files or directories of documents with a `text` field (JSONL,
JSONL.gz or Parquet: what `prover data` writes) and a weight. `mixture_blocks` turns the
sources into an endless stream of blocks of exactly `length` tokens:

- Packing: a source's documents are tokenized without special tokens, each followed by EOS,
  concatenated, and cut every `length` tokens. The rest of a document that does not fit goes on
  in the next block of that source: no padding, no truncation, no token dropped. Documents in a
  block attend to each other, as in ordinary pretraining (no cross-document mask).
- Mixture: every block holds `length` tokens, so a source's share of blocks is its share of
  tokens, which is what the paper's weights are. Block n goes to the source with the largest
  deficit `weight * (n + 1) - blocks_so_far`, ties to the first listed, so after any N blocks
  every source has within one block of `weight * N`. Sampling per document would not do this:
  it over-weights the sources with long documents. Weights are normalized to sum to 1.
- A source that runs out starts again from its first file (another epoch over it), so the
  stream never ends and the trainer stops at `max_steps`.

Why not TRL's packing: `trl.pack_dataset(..., "wrapped")` cuts each `map` batch (1000 documents)
on its own, so every batch ends in a short block that SFTTrainer pads, and mixing datasets
before packing (`datasets.interleave_datasets`) samples per document. This module fills those
two gaps and hands SFTTrainer finished blocks (`skip_prepare_dataset`).

Bad data is skipped and counted by reason in `MixtureStats.skipped` (on the first pass over a
source only): `empty_file`, `invalid_json`, `invalid_utf8`, `not_an_object`, `missing_text`,
`text_not_str`, `empty_text` (a JSONL line is read by the corpus stages' rules,
`verifier_train.data.jsonl`, with no length limit), `truncated_file`, `invalid_parquet`. A path
that does not exist, a directory with no data files, a source with no usable document, or a
weight <= 0 is an `InputError`.

This module does NOT: shuffle documents (blocks can be shuffled in a buffer, see
`pretrain_dataset`), dedup or filter text, mask attention between documents, or shard the
reading by process (under accelerate every process reads and tokenizes the whole stream and
keeps its slice of each batch: for a large multi-node run, pre-tokenize instead).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.errors import InputError
from verifier_train.data.jsonl import TRUNCATED, corpus_records, text_problem

SUFFIXES = (".jsonl", ".jsonl.gz", ".parquet")
TOKENIZE_BATCH = 256  # documents per call of the (Rust, batched) tokenizer


@dataclass(frozen=True)
class Source:
    """One corpus of the mixture: its files or directories and its share of tokens."""

    name: str
    paths: tuple[str, ...]
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.weight, (int, float)) or not 0 < self.weight < math.inf:
            raise InputError(
                f"mixture source {self.name!r}: weight must be a number > 0, got {self.weight!r}"
            )
        if not self.paths:
            raise InputError(f"mixture source {self.name!r} has no paths")


@dataclass
class MixtureStats:
    """What the stream read: bad records by reason, blocks per source, passes per source."""

    skipped: Counter = field(default_factory=Counter)
    blocks: Counter = field(default_factory=Counter)
    passes: Counter = field(default_factory=Counter)

    def skipped_line(self) -> str | None:
        """One summary line of the bad records, or None when there were none."""
        if not self.skipped:
            return None
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(self.skipped.items()))
        return f"skipped {sum(self.skipped.values())} bad records ({reasons})"


def parse_mixture(spec: Mapping[str, Any] | Sequence[Source]) -> tuple[Source, ...]:
    """Sources from a recipe's `mixture: {name: {paths: [...], weight: w}}` (or Sources)."""
    if not isinstance(spec, Mapping):
        return tuple(spec)
    sources = []
    for name, entry in spec.items():
        if not isinstance(entry, Mapping) or set(entry) - {"paths", "weight"}:
            raise InputError(f"mixture source {name!r}: expected {{paths: [...], weight: w}}")
        paths = entry.get("paths") or ()
        paths = (paths,) if isinstance(paths, str) else tuple(str(p) for p in paths)
        sources.append(Source(str(name), paths, entry.get("weight", 1.0)))
    return tuple(sources)


def normalized_weights(sources: Sequence[Source]) -> list[float]:
    total = sum(s.weight for s in sources)
    return [s.weight / total for s in sources]


# --- Reading ----------------------------------------------------------------------------


def data_files(path: Path) -> list[Path]:
    """`path` itself, or the JSONL/JSONL.gz/Parquet files under a directory, sorted."""
    if not path.exists():
        raise InputError(f"{path}: no such file or directory")
    if path.is_file():
        if not path.name.endswith(SUFFIXES):
            raise InputError(f"{path}: not a data file (use {', '.join(SUFFIXES)})")
        return [path]
    found = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(SUFFIXES))
    if not found:
        raise InputError(f"{path}: no {', '.join(SUFFIXES)} files in this directory")
    return found


def source_files(source: Source) -> list[Path]:
    return [f for p in source.paths for f in data_files(Path(p).expanduser())]


def _jsonl_texts(path: Path, skipped: Counter) -> Iterator[str]:
    before, read = sum(skipped.values()), 0
    try:
        for _, record in corpus_records(path, max_chars=None, bad=skipped):
            read += 1
            yield record["text"]
    except TRUNCATED:  # cut off or not gzip: keep what was read
        skipped["truncated_file"] += 1
        return
    if not read and sum(skipped.values()) == before:  # not one non-blank line
        skipped["empty_file"] += 1


def _parquet_texts(path: Path, skipped: Counter) -> Iterator[str]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError):
        skipped["invalid_parquet"] += 1
        return
    rows = parquet.metadata.num_rows
    if not rows or "text" not in parquet.schema_arrow.names:
        skipped["missing_text" if rows else "empty_file"] += rows or 1
        return
    for group in range(parquet.num_row_groups):
        try:
            values = parquet.read_row_group(group, columns=["text"]).column(0).to_pylist()
        except (pa.ArrowInvalid, OSError):  # a damaged row group: the others are still read
            skipped["invalid_parquet"] += 1
            continue
        for value in values:
            problem = text_problem(value)
            if problem:
                skipped[problem] += 1
            else:
                yield value


def read_texts(path: Path, skipped: Counter) -> Iterator[str]:
    """The usable `text` of each record of one file; bad records are counted in `skipped`."""
    reader = _parquet_texts if path.name.endswith(".parquet") else _jsonl_texts
    yield from reader(path, skipped)


def check_source(source: Source) -> list[Path]:
    """The source's files, after making sure at least one holds a usable document."""
    files, skipped = source_files(source), Counter()
    for path in files:
        if next(read_texts(path, skipped), None) is not None:
            return files
    why = ", ".join(f"{n} {reason}" for reason, n in sorted(skipped.items()))
    raise InputError(f"mixture source {source.name!r} has no usable document ({why})")


# --- Tokenizing and packing -------------------------------------------------------------


def batched(items: Iterable[str], size: int) -> Iterator[list[str]]:
    batch: list[str] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def document_tokens(texts: Iterable[str], tokenizer, eos_id: int) -> Iterator[list[int]]:
    """Each text's token ids (no BOS or other special tokens) followed by EOS."""
    for batch in batched(texts, TOKENIZE_BATCH):
        for ids in tokenizer(batch, add_special_tokens=False, verbose=False)["input_ids"]:
            yield [*ids, eos_id]


def pack(documents: Iterable[list[int]], length: int) -> Iterator[list[int]]:
    """Concatenate token lists and cut them into blocks of exactly `length`; a trailing
    partial block is never yielded (an endless source never has one)."""
    if length < 1:
        raise ValueError(f"block length must be >= 1, got {length}")
    buffer: list[int] = []
    for ids in documents:
        buffer.extend(ids)
        if len(buffer) >= length:
            cut = len(buffer) - len(buffer) % length
            yield from (buffer[i : i + length] for i in range(0, cut, length))
            del buffer[:cut]


def source_texts(source: Source, files: Sequence[Path], stats: MixtureStats) -> Iterator[str]:
    """The source's texts, pass after pass; bad records are counted on the first pass."""
    while True:
        first = stats.passes[source.name] == 0
        skipped, read = stats.skipped if first else Counter(), 0
        for path in files:
            for text in read_texts(path, skipped):
                read += 1
                yield text
        if not read:  # the files changed under us: never loop forever on nothing
            raise InputError(f"mixture source {source.name!r} has no usable document left")
        stats.passes[source.name] += 1


def pick(weights: Sequence[float], counts: Sequence[int]) -> int:
    """The index with the largest deficit `weight * (total + 1) - count` (first on ties)."""
    total = sum(counts) + 1
    deficits = [w * total - c for w, c in zip(weights, counts, strict=True)]
    return deficits.index(max(deficits))


def mixture_blocks(
    sources: Sequence[Source], tokenizer, length: int, stats: MixtureStats | None = None
) -> Iterator[tuple[str, list[int]]]:
    """Endless (source name, block of `length` token ids) with token shares = the weights."""
    stats = stats if stats is not None else MixtureStats()
    eos_id = tokenizer.eos_token_id
    if eos_id is None:
        raise InputError("the tokenizer has no EOS token to separate documents")
    streams = [
        pack(document_tokens(source_texts(s, check_source(s), stats), tokenizer, eos_id), length)
        for s in sources
    ]
    weights, counts = normalized_weights(sources), [0] * len(sources)
    while True:
        index = pick(weights, counts)
        counts[index] += 1
        stats.blocks[sources[index].name] += 1
        yield sources[index].name, next(streams[index])


def _block_rows(sources, tokenizer, length, stats) -> Iterator[dict[str, list[int]]]:
    for _, block in mixture_blocks(sources, tokenizer, length, stats):
        yield {"input_ids": block}


def pretrain_dataset(
    sources: Sequence[Source],
    tokenizer,
    length: int,
    stats: MixtureStats | None = None,
    shuffle_buffer: int = 0,
    seed: int = 0,
):
    """An endless `datasets.IterableDataset` of `{"input_ids": block}` rows (int32, `length`
    each), blocks shuffled in a buffer of `shuffle_buffer` when > 0. Sources are checked now:
    a missing path or a source without a usable document fails here, not mid-training."""
    from datasets import Features, IterableDataset, Sequence, Value

    for source in sources:
        check_source(source)
    dataset = IterableDataset.from_generator(
        _block_rows,
        features=Features({"input_ids": Sequence(Value("int32"))}),
        gen_kwargs={"sources": tuple(sources), "tokenizer": tokenizer, "length": length,
                    "stats": stats if stats is not None else MixtureStats()},
    )  # fmt: skip
    return dataset.shuffle(seed=seed, buffer_size=shuffle_buffer) if shuffle_buffer > 0 else dataset
