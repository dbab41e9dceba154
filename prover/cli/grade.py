"""`prover grade`: grade final answers with Math-Verify and the DeepSeekMath rules.

`prover grade GOLD PRED` prints both verdicts and the answer graded.
`prover grade --pairs FILE.tsv` grades every row of a tab-separated file (header columns
`gold` and `pred`, quoted as the csv module quotes) in one process and writes one line per
pair: gold, pred, the Math-Verify verdict, the DeepSeekMath verdict (`true`, `false`,
`unknown`), then a summary line on stderr. `--pred-kind` says whether PRED is a bare answer
or a model's output; by default each PRED is classified by `prover.grading`'s rule (a PRED
with no `$`, box or "answer is" that reads as one expression is the answer itself). This
command does not extract answers from the gold column (gold is the reference answer itself)
and does not run model-written programs.
"""

from __future__ import annotations

import csv
import io
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol, TextIO

import click

from prover import grading
from prover.errors import InputError, ProverError
from prover.texinput import read_text

MAX_TSV_BYTES = 1 << 30
MAX_FIELD = 1 << 28  # characters in one field: long model outputs are fine
BATCH = 256  # pairs graded and written at a time, so long files show output as they go
COLUMNS = ("gold", "pred")


def verdict(value: bool | None) -> str:
    return "unknown" if value is None else str(value).lower()


@click.command()
@click.argument("gold", required=False)
@click.argument("pred", required=False)
@click.option(
    "--pairs",
    "pairs_file",
    type=click.Path(path_type=Path),
    help="TSV file with header columns gold and pred: grade every row.",
)
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Grading worker processes for --pairs.",
)
@click.option(
    "--out",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the verdict lines here instead of stdout (with --pairs).",
)
@click.option(
    "--pred-kind",
    type=click.Choice(grading.PRED_KINDS),
    default="auto",
    show_default=True,
    help="What PRED holds: a bare answer, a model's output, or auto (decided per PRED).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=grading.TIMEOUT,
    show_default=True,
    help="Seconds each verdict may take; a Math-Verify call past it is 'unknown'.",
)
def grade(
    gold: str | None,
    pred: str | None,
    pairs_file: Path | None,
    workers: int,
    out: Path | None,
    pred_kind: grading.PredKind,
    timeout: float,
) -> None:
    """Grade PRED (a model output or a bare answer) against the GOLD answer, or every pair of
    --pairs FILE.tsv, with Math-Verify and with the DeepSeekMath evaluation rules."""
    if pairs_file is None:
        if gold is None or pred is None:
            raise click.UsageError("give GOLD and PRED, or --pairs FILE.tsv")
        result = grading.grade(gold, pred, timeout=timeout, pred_kind=pred_kind)
        click.echo(render_grade(result))
        return
    if gold is not None:
        raise click.UsageError("give either GOLD PRED or --pairs FILE.tsv, not both")
    pairs, skipped = read_pairs(pairs_file)
    with open_sink(out) as sink:
        grades = list(grade_to(sink, pairs, workers, timeout, pred_kind))
    click.echo(summary(grades, skipped), err=True)


def render_grade(result: grading.Grade) -> str:
    unknown = f" ({result.reason})" if result.math_verify is None else ""
    lines = [
        f"math-verify: {verdict(result.math_verify)}{unknown}",
        f"deepseek:    {verdict(result.deepseek)}",
        f"answer:      {result.answer if result.answer is not None else '(none found)'}",
        f"agree:       {'yes' if result.agree else 'no'}",
    ]
    return "\n".join(lines)


def read_pairs(path: Path) -> tuple[list[tuple[str, str]], int]:
    """(gold, pred) pairs of a TSV file and how many rows were skipped (each reported on
    stderr with its line number). An unreadable file or a missing column is an InputError."""
    text = read_text(path, MAX_TSV_BYTES)
    csv.field_size_limit(MAX_FIELD)  # the default, 131,072, is shorter than some outputs
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t")
    header = next(reader, None)
    if header is None:
        raise InputError(f"{path} is empty: it needs a header line with columns gold and pred")
    gold_at, pred_at = _columns([name.strip() for name in header], path)
    pairs, skipped = [], 0
    for line, row in _rows(reader):
        problem = _row_problem(row, len(header), gold_at)
        if problem is None:
            pairs.append((row[gold_at], row[pred_at]))
            continue
        click.echo(f"{path}:{line}: skipped: {problem}", err=True)
        skipped += 1
    return pairs, skipped


def _columns(header: list[str], path: Path) -> tuple[int, int]:
    missing = [name for name in COLUMNS if name not in header]
    if missing:
        found = ", ".join(repr(name) for name in header)
        raise InputError(f"{path}: missing column {', '.join(missing)} (the header has {found})")
    return header.index("gold"), header.index("pred")


class _LineReader(Protocol):
    """A csv reader: rows, and the number of the line it has read up to."""

    line_num: int

    def __next__(self) -> list[str]: ...


def _rows(reader: _LineReader) -> Iterator[tuple[int, list[str] | str]]:
    """(line number, fields) per record, or (line number, error text) for one csv rejects."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, f"unreadable row ({exc})"
            continue
        if row:  # blank lines are not rows
            yield reader.line_num, row


def _row_problem(row: list[str] | str, width: int, gold_at: int) -> str | None:
    if isinstance(row, str):
        return row
    if len(row) != width:
        return f"{len(row)} fields, the header has {width}"
    if not row[gold_at].strip():
        return "empty gold"
    return None


@contextmanager
def open_sink(path: Path | None) -> Iterator[TextIO]:
    """The verdict sink: --out FILE (created or truncated) or stdout."""
    if path is None:
        yield sys.stdout
        return
    try:
        handle = path.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise ProverError(f"cannot write {path}: {exc.strerror or exc}") from exc
    with handle:
        yield handle


def grade_to(
    sink: TextIO,
    pairs: Sequence[tuple[str, str]],
    workers: int,
    timeout: float,
    pred_kind: grading.PredKind = "auto",
) -> Iterator[grading.Grade]:
    """Grades pairs in batches, writing one TSV line per pair as each batch finishes."""
    writer = csv.writer(sink, delimiter="\t", lineterminator="\n")
    for start in range(0, len(pairs), BATCH):
        batch = grading.grade_many(
            pairs[start : start + BATCH], workers=workers, timeout=timeout, pred_kind=pred_kind
        )
        for result in batch:
            row = [result.gold, result.pred, verdict(result.math_verify), verdict(result.deepseek)]
            writer.writerow(row)
            yield result
        sink.flush()


def summary(grades: Sequence[grading.Grade], skipped: int) -> str:
    """One line: counts of each verdict, of preds graded as bare answers, and how often the
    graders agree."""
    total = len(grades)
    mv = Counter(verdict(g.math_verify) for g in grades)
    ds = Counter(verdict(g.deepseek) for g in grades)
    agree = sum(g.agree for g in grades)
    share = f"{agree / total:.1%}" if total else "n/a"
    bare = sum(g.as_answer for g in grades)
    return (
        f"graded {total} pairs ({skipped} skipped, {bare} graded as bare answers): "
        f"math-verify {mv['true']} true, "
        f"{mv['false']} false, {mv['unknown']} unknown; deepseek {ds['true']} true, "
        f"{ds['false']} false; graders agree on {agree}/{total} ({share})"
    )
