"""Reading record files (JSONL, JSON, CSV/TSV) the same way everywhere: one bad record is a
value with its line number, never an exception; a file that cannot be read at all is an
`InputError`. This module does not interpret fields (see `prover.proofsets` and
`prover.evaluation.data`).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prover.errors import InputError
from prover.texinput import read_text

MAX_FILE_BYTES = 200_000_000


@dataclass(frozen=True)
class BadRecord:
    """A record that was skipped: where it is and why (printed as `file:line: reason`)."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class Invalid(str):
    """Why a record could not be read (malformed JSON, an unreadable CSV row)."""


def jsonl_records(text: str) -> Iterator[tuple[int, Any]]:
    """(line number, value or Invalid) per non-blank line. Splits on "\\n" only: model text
    may hold U+2028 and friends, which `splitlines()` breaks on."""
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, Invalid(f"malformed JSON ({exc.msg})")


def json_records(path: Path, text: str) -> Iterator[tuple[int, Any]]:
    """(index, value) for a JSON list; a single object, or an object holding one list of
    records, is read too."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno})") from exc
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), [data])
    if not isinstance(data, list):
        raise InputError(f"{path} holds a JSON {type(data).__name__}, not records")
    yield from enumerate(data, 1)


def csv_records(text: str, delimiter: str = ",") -> Iterator[tuple[int, dict | Invalid]]:
    """(line number, row as a dict) per row; quoted fields may span lines and be long."""
    csv.field_size_limit(sys.maxsize)  # the default, 131,072, is shorter than some proofs
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    if reader.fieldnames is None:  # reads the header line
        return
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield start, Invalid(f"unreadable row ({exc})")
            continue
        if None in row or any(v is None for v in row.values()):
            yield start, Invalid(f"{len(row) - 1} fields, the header has {len(reader.fieldnames)}")
            continue
        yield start, row


def read_records(path: Path, max_bytes: int = MAX_FILE_BYTES) -> Iterator[tuple[int, Any]]:
    """(line or index, value) of a .csv, .tsv, .json or JSONL file."""
    text = read_text(path, max_bytes=max_bytes)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv"):
        yield from csv_records(text, "\t" if suffix == ".tsv" else ",")
    elif suffix == ".json" and text.lstrip()[:1] in ("[", "{") and not _one_per_line(text):
        yield from json_records(path, text)
    else:
        yield from jsonl_records(text)


def _one_per_line(text: str) -> bool:
    """JSON Lines saved under a .json name: several lines that each parse on their own."""
    lines = [line for line in text.split("\n") if line.strip()]
    if len(lines) < 2:
        return False
    try:
        return all(isinstance(json.loads(line), dict) for line in lines[:2])
    except json.JSONDecodeError:
        return False
