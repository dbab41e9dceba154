"""Corpus records in JSON Lines: the one reader of a `.jsonl` (or `.jsonl.gz`) file, and the
rules that make a record usable, shared by every corpus stage and by pretraining.

A record is a JSON object with a non-blank string `text`. `parse_record` says why a line is
not one, by the reasons every corpus stage counts: `invalid_json`, `invalid_utf8`,
`not_an_object`, `missing_text`, `text_not_str`, `empty_text`, `huge_text` (longer than
`max_chars`; no limit when it is None). `corpus_records` reads a file (gzip when its name ends
in `.gz`), skips blank lines, counts each bad line under its reason and yields the rest.

Lines are parsed with orjson (the data extra) when it is installed, else with the standard
`json` module (pretraining needs only the train extra); both count the same reasons.

This module does NOT survive a truncated `.gz` file: its `EOFError` (or `gzip.BadGzipFile`,
`zlib.error`, together `TRUNCATED`) reaches the caller after the records before the cut, and
the caller decides whether that is fatal. It reads local files only (the datatrove readers in
`verifier_train.data.readers` read remote folders).
"""

from __future__ import annotations

import gzip
import zlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

try:  # the data extra's parser; the standard one raises the same ValueErrors on bad lines
    from orjson import loads
except ImportError:  # pretraining with only the train extra
    from json import loads

MAX_CHARS = 1_000_000  # longer texts are counted as `huge_text` and skipped
TRUNCATED = (EOFError, gzip.BadGzipFile, zlib.error)  # a cut-off or corrupt `.gz` file


def text_problem(text: object, max_chars: int | None = None) -> str | None:
    """Why a record's text is unusable, or None."""
    if text is None:
        return "missing_text"
    if not isinstance(text, str):
        return "text_not_str"
    if not text.strip():
        return "empty_text"
    return "huge_text" if max_chars is not None and len(text) > max_chars else None


def parse_record(line: bytes, max_chars: int | None = MAX_CHARS) -> tuple[dict, str | None]:
    """(record, None), or ({}, reason) for a JSONL line that is not a usable record."""
    try:
        record = loads(line)
    except ValueError:  # a JSON error, or bytes that are not UTF-8 (the standard parser)
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return {}, "invalid_utf8"
        return {}, "invalid_json"
    if not isinstance(record, dict):
        return {}, "not_an_object"
    problem = text_problem(record.get("text"), max_chars)
    return ({}, problem) if problem else (record, None)


def corpus_records(
    path: Path, max_chars: int | None = MAX_CHARS, bad: Counter | None = None
) -> Iterator[tuple[int, dict]]:
    """(line number, record) for each usable record of a JSONL file, `.gz` too; each bad line
    is counted in `bad` under its reason. A truncated `.gz` file raises (see `TRUNCATED`)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            record, problem = parse_record(line, max_chars)
            if problem is None:
                yield number, record
            elif bad is not None:
                bad[problem] += 1
