"""SFT data: the unified record `{question, reasoning, answer, meta: {lang, domain, format}}`,
converters from GSM8K, MATH and champ step solutions, and an answer-consistency validator.

Each record of a JSONL/JSON/CSV file is converted by the first format it matches (unified,
GSM8K, MATH, champ); a record that matches none, is missing a field, or whose `answer` does not
match the answer in its `reasoning` (by `prover.grading`'s DeepSeekMath verdict) is reported as
a `Rejected` with its file and line, and skipped.

This module does NOT: tokenize, build chat prompts (see `verifier_train.sft`), deduplicate,
decontaminate, translate, detect the language (`lang` defaults to "en"), or read Parquet.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.parse import last_boxed
from prover.records import Invalid, read_records

FORMATS = ("cot", "pot", "tool")
GSM8K_MARK = "####"
_CALCULATOR = re.compile(r"<<[^<>]*>>")  # GSM8K calculator annotations, "<<48/2=24>>"


@dataclass(frozen=True)
class SFTMeta:
    """Where a record comes from and how its reasoning is written."""

    lang: str = "en"
    domain: str = "math"
    format: str = "cot"
    source: str = ""
    level: str = ""

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, got {self.format!r}")


@dataclass(frozen=True)
class SFTRecord:
    """One supervised example: a question, its worked reasoning, and the final answer."""

    question: str
    reasoning: str
    answer: str
    meta: SFTMeta = field(default_factory=SFTMeta)

    def to_dict(self) -> dict[str, Any]:
        meta = {k: v for k, v in vars(self.meta).items() if v or k in ("lang", "domain", "format")}
        return {
            "question": self.question,
            "reasoning": self.reasoning,
            "answer": self.answer,
            "meta": meta,
        }

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> SFTRecord:
        """The record of a unified dict; raises ValueError naming what is wrong."""
        meta = value.get("meta") or {}
        if not isinstance(meta, Mapping):
            raise ValueError("meta is not an object")
        known = {k: str(meta[k]) for k in vars(SFTMeta()) if k in meta}
        return cls(
            _text(value, "question"),
            _text(value, "reasoning"),
            _text(value, "answer"),
            SFTMeta(**known),
        )


@dataclass(frozen=True)
class Rejected:
    """A record that was skipped, and why."""

    source: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason}"


def _text(value: Mapping[str, Any], key: str) -> str:
    """The non-empty string at `key` (numbers are accepted as text)."""
    raw = value.get(key)
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise ValueError(f"missing or non-text field {key!r}")
    text = str(raw).strip()
    if not text:
        raise ValueError(f"empty field {key!r}")
    return text


def boxed_sentence(answer: str) -> str:
    """The closing sentence that states `answer` in a box."""
    return f"The answer is $\\boxed{{{answer}}}$."


# --- Converters -----------------------------------------------------------------------------


def from_gsm8k(value: Mapping[str, Any]) -> SFTRecord:
    """GSM8K `{question, answer: "steps\\n#### 42"}`; calculator annotations are dropped and the
    reasoning ends with the answer in a box."""
    full = _text(value, "answer")
    if GSM8K_MARK not in full:
        raise ValueError(f"GSM8K answer has no {GSM8K_MARK!r} line")
    body, answer = full.rsplit(GSM8K_MARK, 1)
    answer = answer.strip().replace(",", "")
    if not answer:
        raise ValueError(f"empty answer after {GSM8K_MARK!r}")
    steps = _CALCULATOR.sub("", body).strip()
    reasoning = f"{steps}\n{boxed_sentence(answer)}" if steps else boxed_sentence(answer)
    meta = SFTMeta(domain="arithmetic", source="gsm8k")
    return SFTRecord(_text(value, "question"), reasoning, answer, meta)


def from_math(value: Mapping[str, Any]) -> SFTRecord:
    """MATH `{problem, solution, type, level}`; the answer is the solution's last `\\boxed{}`."""
    solution = _text(value, "solution")
    answer = last_boxed(solution)
    if answer is None:
        raise ValueError("MATH solution has no non-empty \\boxed{}")
    meta = SFTMeta(
        domain=str(value.get("type") or "math"),
        source="math",
        level=str(value.get("level") or ""),
    )
    return SFTRecord(_text(value, "problem"), solution, answer, meta)


def from_champ(value: Mapping[str, Any]) -> SFTRecord:
    """A champ problem as a dict: `{problem (or text), steps: [str], answer, category}`; the
    steps are numbered and the reasoning ends with the answer in a box."""
    steps = value.get("steps")
    if not isinstance(steps, list) or not steps or not all(isinstance(s, str) for s in steps):
        raise ValueError("champ 'steps' is not a non-empty list of strings")
    question = _text(value, "problem" if "problem" in value else "text")
    answer = _text(value, "answer")
    numbered = "\n".join(f"{i}. {step.strip()}" for i, step in enumerate(steps, 1))
    meta = SFTMeta(domain=str(value.get("category") or "math"), source="champ")
    return SFTRecord(question, f"{numbered}\n{boxed_sentence(answer)}", answer, meta)


def champ_dict(problem: Any) -> dict[str, Any]:
    """A `champ_dataset` Problem as the dict `from_champ` reads."""
    return {
        "problem": problem.text,
        "steps": [step.text for step in problem.solution.steps],
        "answer": problem.answer,
        "category": problem.category,
    }


def champ_records(version: str = "v0") -> tuple[list[SFTRecord], list[Rejected]]:
    """The champ benchmark's step solutions as records (not validated)."""
    import champ_dataset

    values = (champ_dict(p) for p in champ_dataset.load(version).problems.values())
    return convert((f"champ-{version}", i, v) for i, v in enumerate(values, 1))


Converter = Callable[[Mapping[str, Any]], SFTRecord]


def detect(value: Mapping[str, Any]) -> Converter | None:
    """The converter for a record by its fields: unified, GSM8K, MATH or champ."""
    if "reasoning" in value and "question" in value:
        return SFTRecord.from_dict
    if "question" in value and "answer" in value:
        return from_gsm8k
    if "problem" in value and "solution" in value:
        return from_math
    if "steps" in value and "answer" in value:
        return from_champ
    return None


def convert_one(value: Any) -> SFTRecord:
    """The record of one raw value; raises ValueError saying why it cannot be converted."""
    if isinstance(value, Invalid):
        raise ValueError(str(value))
    if not isinstance(value, Mapping):
        raise ValueError(f"a JSON {type(value).__name__}, not an object")
    converter = detect(value)
    if converter is None:
        raise ValueError(f"unknown format (fields: {', '.join(sorted(map(str, value)))})")
    return converter(value)


def convert(items: Iterable[tuple[str, int, Any]]) -> tuple[list[SFTRecord], list[Rejected]]:
    """Records of (source, line, value) items; bad ones are rejected with the reason."""
    located = list(_located(items))
    records = [value for _, _, value in located if isinstance(value, SFTRecord)]
    return records, [value for _, _, value in located if isinstance(value, Rejected)]


# --- Validation and loading -----------------------------------------------------------------


def validate(
    records: Iterable[tuple[str, int, SFTRecord]], workers: int = 1
) -> tuple[list[SFTRecord], list[Rejected]]:
    """Keeps records whose `answer` matches the answer in `reasoning` by the DeepSeekMath
    verdict of `prover.grading.grade_many(gold=answer, pred=reasoning)`."""
    from prover.grading import grade_many

    items = list(records)
    grades = grade_many([(r.answer, r.reasoning) for _, _, r in items], workers=workers)
    kept: list[SFTRecord] = []
    rejected: list[Rejected] = []
    for (source, line, record), grade in zip(items, grades, strict=True):
        if grade.deepseek:
            kept.append(record)
        else:
            found = grade.answer if grade.answer is not None else "no answer"
            reason = f"answer {record.answer!r} does not match the reasoning's ({found!r})"
            rejected.append(Rejected(source, line, reason))
    return kept, rejected


def _file_items(path: Path) -> Iterator[tuple[str, int, Any]]:
    for line, value in read_records(path):
        yield str(path), line, value


def _located(items: Iterable[tuple[str, int, Any]]) -> Iterator[tuple[str, int, Any]]:
    """(source, line, record or Rejected) per item."""
    for source, line, value in items:
        try:
            yield source, line, convert_one(value)
        except ValueError as exc:
            yield source, line, Rejected(source, line, str(exc))


def load_sft(
    paths: Iterable[Path | str], check_answers: bool = True, workers: int = 1
) -> tuple[list[SFTRecord], list[Rejected]]:
    """Records from JSONL/JSON/CSV files of any supported format, in order, and the rejected
    ones (unreadable, unknown format, missing fields, answer mismatch), each with its line.
    A file that cannot be read at all raises `prover.errors.InputError`."""
    items = [it for p in paths for it in _located(_file_items(Path(p)))]
    rejected = [value for _, _, value in items if isinstance(value, Rejected)]
    converted = [it for it in items if isinstance(it[2], SFTRecord)]
    if not check_answers:
        return [record for _, _, record in converted], rejected
    kept, mismatched = validate(converted, workers=workers)
    return kept, rejected + mismatched
