"""Benchmark items with reference answers, from files or from offline generators.

Files: JSON Lines, a JSON list, one JSON record, or a directory of JSON records (the original
MATH layout). The format of each record is told by its fields:
  - GSM8K: `question`, `answer` with the final answer after `#### `;
  - MATH: `problem`, `solution` (answer in its last `\\boxed{}`, or an `answer` field), `level`,
    `type` (or `subject`);
  - CMATH: `question`, `golden`, `grade`;
  - plain: `question` and a short `answer`.
A bad record is reported with its line number (or record number) and skipped; an unreadable or
empty file, or one with no usable record, is an `InputError`.

Offline sources: `champ` (the 270 CHAMP competition problems, `champ-dataset`) and
`gym:<generator>[:count[:seed]]` (procedural `reasoning-gym` problems, seed 42 by default).
This module does not build prompts or grade answers.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.errors import InputError, require
from prover.parse import last_boxed
from prover.records import MAX_FILE_BYTES, Invalid, jsonl_records
from prover.texinput import read_text

GYM_COUNT = 20
GYM_SEED = 42


@dataclass(frozen=True)
class Item:
    """One benchmark question with its reference answer."""

    id: str
    question: str
    answer: str
    subject: str | None = None
    level: str | None = None
    source: str = "file"  # gsm8k, math, cmath, plain, champ or gym:<generator>
    extra: dict = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Dataset:
    """Loaded items, and one message per skipped record."""

    items: tuple[Item, ...]
    skipped: tuple[str, ...] = ()


class UnusableRecord(ValueError):
    """A record that cannot become an item; the message says why."""


@dataclass(frozen=True)
class _Invalid:
    message: str


def load(spec: str, limit: int | None = None) -> Dataset:
    """Items of `spec` (a path, `champ` or `gym:<generator>[:count[:seed]]`), the first `limit`."""
    if spec == "champ":
        data = load_champ()
    elif spec.startswith("gym:"):
        data = load_gym(*_gym_spec(spec))
    else:
        data = load_path(Path(spec))
    return Dataset(data.items[:limit] if limit else data.items, data.skipped)


# -- files ---------------------------------------------------------------------------------
def load_path(path: Path) -> Dataset:
    """A JSON/JSONL file, or a directory of JSON records (searched recursively)."""
    if path.is_dir():
        files = sorted(path.rglob("*.json")) + sorted(path.rglob("*.jsonl"))
        if not files:
            raise InputError(f"{path} holds no .json or .jsonl files")
        names = [str(f.relative_to(path)) for f in files]
        raw = [
            (f"{name}: {where}", default_id, value)
            for f, name in zip(files, names, strict=True)
            for where, default_id, value in _file_records(f, name.rsplit(".", 1)[0])
        ]
    elif path.exists():
        raw = _file_records(path, path.stem)
    else:
        raise InputError(f"no such data file: {path} (or use champ or gym:<generator>)")
    return _collect(raw, path)


def _read(path: Path) -> str:
    """The file's text (checks and a byte-order mark handled as for every input file)."""
    text = read_text(path, max_bytes=MAX_FILE_BYTES)
    if not text.strip():
        raise InputError(f"{path} is empty")
    return text


def _file_records(path: Path, stem: str) -> list[tuple[str, str, Any]]:
    """(where, default id, parsed value or `_Invalid`) for each record of one file."""
    text = _read(path)
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno})") from exc
        return [(f"record {k}", f"{stem}-{k}", r) for k, r in enumerate(data, 1)]
    if path.suffix == ".json":
        try:
            return [("record 1", stem, json.loads(text))]
        except json.JSONDecodeError:
            pass  # JSON Lines under a .json name
    return _jsonl(text, stem)


def _jsonl(text: str, stem: str) -> list[tuple[str, str, Any]]:
    return [
        (f"line {n}", f"{stem}-{n}", _Invalid(value) if isinstance(value, Invalid) else value)
        for n, value in jsonl_records(text)
    ]


def _collect(raw: list[tuple[str, str, Any]], path: Path) -> Dataset:
    items, skipped, seen = [], [], set()
    for where, default_id, value in raw:
        try:
            item = parse_item(value, default_id)
            if item.id in seen:
                raise UnusableRecord(f"duplicate id {item.id!r}")
        except UnusableRecord as exc:
            skipped.append(f"{path}: {where}: {exc}; skipped")
            continue
        seen.add(item.id)
        items.append(item)
    if not items:
        first = f"; first problem: {skipped[0]}" if skipped else ""
        raise InputError(f"{path} has no usable records ({len(skipped)} skipped){first}")
    return Dataset(tuple(items), tuple(skipped))


# -- record formats ------------------------------------------------------------------------
def parse_item(value: Any, default_id: str) -> Item:
    """One record in any supported format, or `UnusableRecord`."""
    if isinstance(value, _Invalid):
        raise UnusableRecord(value.message)
    if not isinstance(value, dict):
        raise UnusableRecord(f"expected a JSON object, got {type(value).__name__}")
    record_id = str(value.get("id", value.get("unique_id", value.get("idx", default_id))))
    if "golden" in value:
        return _cmath(value, record_id)
    if "problem" in value:
        return _math(value, record_id)
    if "question" in value and "answer" in value:
        return _gsm8k(value, record_id)
    fields = ", ".join(sorted(value)) or "none"
    raise UnusableRecord(
        f"unknown format (fields: {fields}); expected question/answer (GSM8K), "
        "problem/solution (MATH) or question/golden (CMATH)"
    )


def _text(value: dict, key: str) -> str:
    """A required non-empty field; numbers are accepted and written as text."""
    raw = value.get(key)
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise UnusableRecord(f"field {key!r} is missing or not text")
    text = str(raw).strip()
    if not text:
        raise UnusableRecord(f"field {key!r} is empty")
    return text


def _optional(value: dict, *keys: str) -> str | None:
    for key in keys:
        if value.get(key) not in (None, ""):
            return str(value[key])
    return None


def _gsm8k(value: dict, record_id: str) -> Item:
    question, answer = _text(value, "question"), _text(value, "answer")
    if "####" not in answer:
        return Item(record_id, question, answer, _optional(value, "subject"), None, "plain")
    final = answer.rsplit("####", 1)[1].strip().replace(",", "")
    if not final:
        raise UnusableRecord("nothing after '####' in the answer")
    return Item(record_id, question, final, None, None, "gsm8k")


def _math(value: dict, record_id: str) -> Item:
    question = _text(value, "problem")
    answer = _optional(value, "answer")
    if answer is None:
        answer = last_boxed(_text(value, "solution"))
    if answer is None:
        raise UnusableRecord("no answer field and no \\boxed{} answer in the solution")
    subject = _optional(value, "type", "subject")
    return Item(record_id, question, answer.strip(), subject, _optional(value, "level"), "math")


def _cmath(value: dict, record_id: str) -> Item:
    question, golden = _text(value, "question"), _text(value, "golden")
    grade = _optional(value, "grade")
    level = f"grade {grade}" if grade else None
    return Item(record_id, question, golden.replace(",", ""), None, level, "cmath")


# -- offline sources -----------------------------------------------------------------------
def load_champ() -> Dataset:
    """The CHAMP competition problems (`champ_dataset.load("v0")`), subject = category."""
    champ = require("champ_dataset", "eval")
    problems = champ.load("v0").problems.values()
    items = [
        Item(p.identifier, p.text.strip(), p.answer.strip(), p.category, None, "champ")
        for p in problems
    ]
    return Dataset(tuple(items))


def _gym_spec(spec: str) -> tuple[str, int, int]:
    """(generator, count, seed) of `gym:<generator>[:count[:seed]]`; a different seed gives a
    held-out set disjoint in sampling from the default one."""
    parts = spec.split(":")
    if len(parts) not in (2, 3, 4) or not parts[1]:
        raise InputError(f"bad data source {spec!r}; use gym:<generator>[:count[:seed]]")
    numbers = parts[2:]
    if not all(n.isdigit() for n in numbers) or (numbers and int(numbers[0]) < 1):
        raise InputError(f"bad count or seed in {spec!r}; use non-negative integers")
    count = int(numbers[0]) if numbers else GYM_COUNT
    return parts[1], count, int(numbers[1]) if len(numbers) > 1 else GYM_SEED


def load_gym(name: str, count: int = GYM_COUNT, seed: int = GYM_SEED) -> Dataset:
    """`count` problems of a reasoning-gym generator, reproducible through the fixed seed."""
    gym = require("reasoning_gym", "eval")
    from reasoning_gym.factory import DATASETS

    if name not in DATASETS:
        raise InputError(
            f"unknown reasoning-gym generator {name!r}; e.g. gsm_symbolic, "
            "basic_arithmetic, simple_equations"
        )
    dataset = gym.create_dataset(name, size=count, seed=seed)
    items = [_gym_item(name, k, dataset[k]) for k in range(count)]
    return Dataset(tuple(items))


def _gym_item(name: str, k: int, entry: dict) -> Item:
    difficulty = entry.get("metadata", {}).get("difficulty")
    level = str(difficulty) if isinstance(difficulty, int | float | str) else None
    extra = {"gym": name, "entry": entry}
    return Item(
        f"{name}-{k}", entry["question"], str(entry["answer"]), name, level, f"gym:{name}", extra
    )


@functools.cache
def _gym_scorer(name: str):
    return require("reasoning_gym", "eval").get_score_answer_fn(name)


def gym_score(item: Item, answer: str | None) -> float | None:
    """reasoning-gym's own `score_answer` for an extracted answer; None for other sources."""
    if "gym" not in item.extra:
        return None
    try:
        return float(_gym_scorer(item.extra["gym"])(answer, item.extra["entry"]))
    except (ValueError, TypeError, ArithmeticError, KeyError):
        return 0.0  # a scorer that chokes on a malformed answer: the answer is wrong
