"""Read proof sets for batch scoring: JSONL, JSON or CSV, in the layouts researchers have.

Recognised without flags: DeepSeekMath-V2 output files (`question` + `model_prediction` with
`proof` and `human_rating`; the dict may be a Python-literal string, read with
`ast.literal_eval`, never `eval`), IMO-ProofBench-style rows (problem, solution, grading
guidelines, proof, a 0-7 grade) and plain `{problem, proof, [grade]}`. `--map field=column`
names anything else (a dotted column reaches into nested objects). A bad record is reported
with its file and line number and skipped. This module does not score anything.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from prover.errors import InputError
from prover.records import BadRecord, Invalid, read_records

FIELDS = ("problem", "proof", "grade", "id", "level", "source", "scale")
# Column names tried for each field, first match wins (after any --map).
ALIASES = {
    "problem": ("problem", "question", "statement", "model_prediction.question"),
    "proof": ("proof", "model_prediction.proof", "response", "model_proof", "output"),
    "grade": (
        "model_prediction.human_rating",
        "human_rating",
        "grade",
        "human_grade",
        "points",
        "score",
    ),
    "id": ("problem_idx", "id", "problem_id", "uid", "grading_id"),
    "level": ("level", "difficulty"),
    "source": ("source", "contest", "competition"),
    "scale": ("scale", "max_grade", "max_points"),
}
# Per-problem maximum grade by competition, for files that do not say (DeepSeekMath-V2 files).
SCALES = (("PB-", 7.0), ("IMO", 7.0), ("CMO", 21.0), ("Putnam", 10.0), ("USAMO", 7.0))


@dataclass(frozen=True)
class ProofItem:
    """One proof to score, with its human grade when there is one."""

    id: str
    problem: str
    proof: str
    file: str
    line: int
    grade: float | None = None
    scale: float | None = None
    problem_id: str | None = None
    level: str | None = None
    source: str | None = None
    scale_guessed: bool = False  # no scale was stated or known: it was read off the grades

    @property
    def normalized(self) -> float | None:
        """The human grade on [0, 1]."""
        if self.grade is None or not self.scale:
            return None
        return min(1.0, max(0.0, self.grade / self.scale))


def parse_map(pairs: tuple[str, ...] | list[str]) -> dict[str, str]:
    """`field=column` pairs from `--map`; unknown fields are a user error."""
    mapping = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or field not in FIELDS or not column:
            raise InputError(
                f"--map {pair!r}: use FIELD=COLUMN with FIELD one of {', '.join(FIELDS)}"
            )
        mapping[field] = column
    return mapping


def raw_records(path: Path) -> Iterator[tuple[int, dict | str]]:
    """(line number, record) pairs; a record that cannot be used comes back as a reason."""
    for line, record in read_records(path):
        if isinstance(record, Invalid):
            yield line, str(record)
        else:
            yield line, record if isinstance(record, dict) else "record is not an object"


def _key(name: str) -> str:
    """Column names match whatever their case and spacing: `Problem ID` is `problem_id`."""
    return "_".join(name.lower().replace("_", " ").split())


def lookup(record: dict, column: str):
    """`record[column]`, where a dotted column reaches into nested (or literal-string) dicts;
    names match case- and space-insensitively."""
    if column in record:
        return record[column]
    keys = {_key(k): k for k in record if isinstance(k, str)}
    if _key(column) in keys:
        return record[keys[_key(column)]]
    head, _, rest = column.partition(".")
    inner = record.get(keys.get(_key(head), head)) if rest else None
    if isinstance(inner, str):
        inner = _literal(inner)
    return lookup(inner, rest) if isinstance(inner, dict) else None


def _literal(text: str) -> dict | None:
    """A dict written as JSON or as a Python literal (some published files), else None."""
    for load in (json.loads, ast.literal_eval):
        try:
            value = load(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
        return value if isinstance(value, dict) else None
    return None


def field_value(record: dict, field: str, mapping: dict[str, str]):
    columns = (mapping[field],) if field in mapping else ALIASES[field]
    for column in columns:
        value = lookup(record, column)
        if value is not None:
            return value
    return None


_FRACTION = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*$")


def parse_grade(value) -> tuple[float | None, float | None]:
    """(grade, scale if the value states one): 7, "7", "6.5", "5/7" -> (5.0, 7.0). Anything
    else, NaN and infinities included, is no grade."""
    if value is None or isinstance(value, bool):
        return None, None
    match = _FRACTION.match(str(value))
    if match:
        return _finite(float(match.group(1))), _finite(float(match.group(2)))
    try:
        return _finite(float(str(value).strip())), None
    except ValueError:
        return None, None


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def competition_scale(*names: str | None) -> float | None:
    for name in names:
        for prefix, scale in SCALES:
            if name and name.startswith(prefix):
                return scale
    return None


def to_item(record: dict, name: str, line: int, mapping: dict[str, str]) -> ProofItem | str:
    """`name` labels the file in ids and groups (its stem, or folder/stem when stems clash)."""
    problem, proof = field_value(record, "problem", mapping), field_value(record, "proof", mapping)
    if problem is None:
        return "missing field: problem"
    if proof is None:
        return "missing field: proof"
    if not str(proof).strip():
        return "empty proof"
    if not str(problem).strip():
        return "empty problem"
    grade, stated = parse_grade(field_value(record, "grade", mapping))
    pid = field_value(record, "id", mapping)
    scale, _ = parse_grade(field_value(record, "scale", mapping))
    return ProofItem(
        id=f"{name}/{pid if pid is not None else line}",
        problem=str(problem),
        proof=str(proof),
        file=name,
        line=line,
        grade=grade,
        scale=scale or stated or competition_scale(str(pid), Path(name).name),
        problem_id=None if pid is None else str(pid),
        level=_text(field_value(record, "level", mapping)),
        source=_text(field_value(record, "source", mapping)) or name,
    )


def _text(value) -> str | None:
    return None if value is None or value == "" else str(value)


def read_proofs(
    paths: list[Path], mapping: dict[str, str] | None = None, scale: float | None = None
) -> tuple[list[ProofItem], list[BadRecord]]:
    """Every scorable proof of the files, and the records that were skipped (and why)."""
    items, bad = [], []
    for path, name in zip(paths, file_labels(paths), strict=True):
        for line, record in raw_records(path):
            item = record if isinstance(record, str) else to_item(record, name, line, mapping or {})
            if isinstance(item, str):
                bad.append(BadRecord(str(path), line, item))
            else:
                items.append(item)
    items = _fill_scales(items, scale)
    return _unique_ids(items), bad


def file_labels(paths: list[Path]) -> list[str]:
    """A short, distinct label per file: its stem, or folder/stem when two stems are the same
    (two models' `IMO2025.jsonl`), or the whole path as a last resort."""
    stems = Counter(p.stem for p in paths)
    labels = [p.stem if stems[p.stem] == 1 else f"{p.parent.name}/{p.stem}" for p in paths]
    counts = Counter(labels)
    return [
        lab if counts[lab] == 1 else str(p.with_suffix(""))
        for lab, p in zip(labels, paths, strict=True)
    ]


def _fill_scales(items: list[ProofItem], scale: float | None) -> list[ProofItem]:
    """`--scale` wins; otherwise a file with graded items but no known scale gets the
    smallest usual scale (1, 7, 10, 21) that holds its largest grade."""
    out = []
    for item in items:
        if scale is not None:
            item = replace(item, scale=scale)
        out.append(item)
    for file in {i.file for i in out if i.grade is not None and i.scale is None}:
        top = max(i.grade for i in out if i.file == file and i.grade is not None)
        guess = next((s for s in (1.0, 7.0, 10.0, 21.0) if top <= s), top)
        out = [
            replace(i, scale=guess, scale_guessed=True) if i.file == file and i.scale is None else i
            for i in out
        ]
    return out


def guessed_scales(items: list[ProofItem]) -> dict[str, float]:
    """{file: scale} for the files whose grade scale was guessed (worth a warning)."""
    return {i.file: i.scale for i in items if i.scale_guessed}


def _unique_ids(items: list[ProofItem]) -> list[ProofItem]:
    """Ids stay stable across runs; a repeated id gets its line number appended."""
    counts = Counter(i.id for i in items)
    return [replace(i, id=f"{i.id}@{i.line}") if counts[i.id] > 1 else i for i in items]
