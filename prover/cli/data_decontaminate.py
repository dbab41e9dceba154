"""`prover data decontaminate IN.jsonl OUT.jsonl --benchmark B.jsonl`: drop the records whose
`text` holds benchmark text (DeepSeekMath rules: an exact 10-gram, or a whole 3-9 word
benchmark text), or with `--mode segment` cut only the matching paragraphs, on one rank through
the `Decontaminate` step's `run()` (`verifier_train.data.decontaminate`).

Benchmarks come from `--benchmark` files (JSONL, JSON or a directory of them; the text in a
`text`, `problem` or `question` field; repeatable) and from `--index` files saved before with
`--save-index` or `python -m verifier_train.data.benchmark_index` (`--index champ` is the
shipped CHAMP index). Prints the documents in and out per stage with the removals by reason and
by benchmark. Bad lines (invalid JSON or UTF-8, not an object, a `text` missing, not a string,
blank or over a million characters: `verifier_train.data.jsonl`) are counted under `read` by
reason. OUT keeps each record's fields (the text cut in segment mode, and a
`decontamination` field when something was removed); `--removed FILE` gets each removed record,
and in segment mode each record's removed segments, with `filter_reason` and `decontamination`
(the matched benchmark items and n-grams). This command does NOT run several ranks: put the
`Decontaminate` step in a datatrove pipeline under an executor for that.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import click

from prover.errors import InputError, require

FILE = click.Path(path_type=Path, dir_okay=False)


@click.command()
@click.argument("src", metavar="IN.jsonl", type=FILE)
@click.argument("dst", metavar="OUT.jsonl", type=FILE)
@click.option(
    "--benchmark",
    "-b",
    "benchmarks",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Benchmark file or directory (JSONL/JSON; text, problem or question). Repeatable.",
)
@click.option(
    "--index",
    "indexes",
    multiple=True,
    help="A saved benchmark index (.npz), or 'champ' for the shipped one. Repeatable.",
)
@click.option(
    "--mode",
    type=click.Choice(["document", "segment"]),
    default="document",
    show_default=True,
    help="Drop a matching document, or only its matching segments.",
)
@click.option(
    "--segments",
    type=click.Choice(["paragraph", "line"]),
    default="paragraph",
    show_default=True,
    help="What a segment is in segment mode: blank-line paragraphs or lines.",
)
@click.option("--removed", type=FILE, help="Write the removed records (and segments) here.")
@click.option("--save-index", type=FILE, help="Also save the benchmark index here (.npz).")
@click.option(
    "--max-chars",
    type=click.IntRange(1),
    default=10_000_000,
    show_default=True,
    help="Longer texts are dropped unchecked as too_large.",
)
def decontaminate(
    src: Path,
    dst: Path,
    benchmarks: tuple[Path, ...],
    indexes: tuple[str, ...],
    mode: str,
    segments: str,
    removed: Path | None,
    save_index: Path | None,
    max_chars: int,
) -> None:
    """Remove the records of IN.jsonl (fields `text`, `url`) that contain benchmark text, or in
    segment mode their matching paragraphs, and write the rest to OUT.jsonl."""
    require("datatrove", "data")
    from verifier_train.data.decontaminate import Decontaminate

    if not benchmarks and not indexes:
        raise click.UsageError("give --benchmark FILE (repeatable) or --index FILE|champ")
    _check_paths(src, dst, removed)
    index = _index(benchmarks, indexes, save_index)
    sink = _RemovedSink(removed) if removed else None
    step = Decontaminate(index, mode, segments=segments, max_chars=max_chars, exclusion_writer=sink)
    bad: Counter = Counter()
    with _open_out(dst) as out:
        for doc in step.run(_documents(src, bad)):
            out.write(_line(doc.metadata["record"], doc.text, doc.metadata))
    _report(step.stats, bad, dst)


def _check_paths(src: Path, dst: Path, removed: Path | None) -> None:
    if not src.is_file():
        raise InputError(f"file not found: {src}")
    outputs = [dst] + ([removed] if removed else [])
    if any(path.resolve() == src.resolve() for path in outputs) or dst == removed:
        raise InputError("IN.jsonl, OUT.jsonl and --removed must be different files")


def _index(benchmarks: tuple[Path, ...], indexes: tuple[str, ...], save: Path | None):
    """The benchmark index from saved index files and benchmark files, merged."""
    from verifier_train.data import benchmark_index

    parts = [benchmark_index.load(_index_path(name)) for name in indexes]
    if benchmarks:
        built = benchmark_index.build(benchmarks)
        for note in built.notes:
            click.echo(f"note: {note}", err=True)
        parts.append(built.index)
    index = parts[0] if len(parts) == 1 else benchmark_index.merge(parts)
    if save:
        index.save(save)
    sources = Counter(item.source for item in index.items)
    listed = ", ".join(f"{name} {n}" for name, n in sources.items())
    click.echo(f"index: {len(index)} benchmark texts, {index.ngram_count} keys ({listed})")
    return index


def _index_path(name: str) -> Path:
    from verifier_train.data.benchmark_index import SHIPPED

    return SHIPPED if name == "champ" else Path(name)


def _open_out(path: Path) -> IO[str]:
    try:
        return path.open("w", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _documents(path: Path, bad: Counter) -> Iterator:
    """A datatrove Document per usable record (`corpus_records`: bad lines are counted in
    `bad` by the same reasons as every other corpus stage); the record rides along in the
    metadata."""
    from datatrove.data import Document

    from verifier_train.data.jsonl import corpus_records

    for number, record in corpus_records(path, bad=bad):
        doc_id = record.get("id")
        doc_id = str(doc_id) if isinstance(doc_id, (str, int)) else f"{path.name}:{number}"
        yield Document(record.get("text"), doc_id, metadata={"record": record})


def _line(record: dict, text: object, metadata: dict, reason: str | None = None) -> str:
    """The record as a JSON line, with its (possibly cut) text and what was removed."""
    record = record | {"text": text}
    if reason:
        record["filter_reason"] = reason
    if "decontamination" in metadata:
        record["decontamination"] = metadata["decontamination"]
    return json.dumps(record) + "\n"


class _RemovedSink:
    """Stands in for a datatrove exclusion writer: removed records as JSON Lines."""

    def __init__(self, path: Path):
        self.path = path
        self.handle: IO[str] | None = None

    def __enter__(self) -> _RemovedSink:
        self.handle = _open_out(self.path)
        return self

    def __exit__(self, *exc) -> None:
        self.handle.close()

    def write(self, doc, rank: int = 0) -> None:
        record = doc.metadata.get("record", {})
        self.handle.write(_line(record, doc.text, doc.metadata, doc.metadata["filter_reason"]))


def _report(stats, bad: Counter, dst: Path) -> None:
    """Documents in and out per stage, removals by reason, matches by benchmark."""
    counts = {key: int(value.total) for key, value in stats.stats.items()}
    total, kept = counts.get("total", 0), counts.get("forwarded", 0)
    lines = total + sum(bad.values())  # every non-blank line: a document or a bad line
    reasons = {k.removeprefix("dropped_"): n for k, n in counts.items() if k.startswith("dropped_")}
    cut = {k: counts[k] for k in ("cleaned", "segments_removed", "empty") if k in counts}
    click.echo(f"{'stage':<14} {'in':>9} {'out':>9} {'removed':>9}  reasons")
    click.echo(_row("read", lines, total, bad, Counter()))
    click.echo(_row("decontaminate", total, kept, Counter(reasons), Counter(cut)))
    prefix = "contaminated_"
    matched = {k.removeprefix(prefix): n for k, n in counts.items() if k.startswith(prefix)}
    if matched:
        click.echo("documents matched per benchmark: " + _listing(Counter(matched)))
    click.echo(f"kept {kept} of {lines} records -> {dst}")


def _row(name: str, docs_in: int, docs_out: int, removed: Counter, notes: Counter) -> str:
    line = f"{name:<14} {docs_in:>9} {docs_out:>9} {docs_in - docs_out:>9}"
    return f"{line}  {_listing(removed) or '-'}" + (f" ({_listing(notes)})" if notes else "")


def _listing(counts: Counter) -> str:
    return ", ".join(f"{key} {n}" for key, n in sorted(counts.items()))
