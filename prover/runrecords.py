"""The records of a run directory, typed: proofs, verifications, meta-verifications and rounds.

This is the one place their schema is written down. Every record is a frozen dataclass whose
fields, in order, are the keys of its JSON line; `to_json` and `from_json` convert, and a
field listed in `OMITTED` is left out of the line while it is None (the loop's records carry
`problem` and `round`, a scoring run's do not), so the lines are the same bytes as before
the records were typed and old run directories resume. `RunRecords` reads a run's records
once and keeps them in memory as they are appended (each append also lands on disk at once,
for resume). This module does not run models (see `prover.jobs`) or read input proof sets
(see `prover.proofsets`; `prover.records` reads those files).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from prover.parse import parse_generation, parse_verdict
from prover.rundir import RunDir

if TYPE_CHECKING:
    from prover.backends.base import Completion
    from prover.jobs import Job

ISSUE_SCORES = (0.0, 0.5)  # analyses with these scores "found issues"
PROOFS, VERIFICATIONS, META, ROUNDS = "proofs", "verifications", "meta", "rounds"

R = TypeVar("R", bound="JsonRecord")


class JsonRecord:
    """A frozen dataclass written as one JSON line: its fields are the keys, in order."""

    OMITTED: ClassVar[frozenset[str]] = frozenset()  # fields left out of the line while None

    def to_json(self) -> dict[str, Any]:
        line = {}
        for name in _names(type(self)):
            value = getattr(self, name)
            if value is None and name in self.OMITTED:
                continue
            line[name] = list(value) if isinstance(value, tuple) else value
        return line

    @classmethod
    def from_json(cls: type[R], line: Mapping[str, Any]) -> R:
        """The record of a JSON line; keys this schema does not know are ignored."""
        return cls(**{name: line[name] for name in _names(cls) if name in line})


@functools.cache
def _names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in fields(cls))


def _sampled(job: Job, c: Completion) -> dict[str, Any]:
    """The fields a sampled record takes from its job (the key, and `info`: the proof, the
    problem, ...) and from how its generation ended."""
    return {
        "key": job.key,
        **job.info,
        "finish_reason": c.finish_reason,
        "prompt_tokens": c.prompt_tokens,
        "completion_tokens": c.completion_tokens,
    }


@dataclass(frozen=True, kw_only=True)
class ProofRecord(JsonRecord):
    """A sampled proof. The loop's proofs carry the problem id, round and refined parents."""

    OMITTED: ClassVar[frozenset[str]] = frozenset({"problem", "round", "parents"})

    id: str
    key: str = ""
    problem: str | None = None
    round: int | None = None
    parents: tuple[str, ...] | None = None
    usable: bool
    solution: str
    self_evaluation: str | None = None
    self_score: float | None = None
    reason: str | None = None  # why the text is not a usable proof, or has no self score
    text: str = ""
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.parents, list):  # JSON has lists; a frozen record keeps a tuple
            object.__setattr__(self, "parents", tuple(self.parents))

    @classmethod
    def sampled(cls, job: Job, index: int, c: Completion) -> ProofRecord:
        """Sample `index` of a generation job, parsed."""
        parsed = parse_generation(c.text, c.finish_reason)
        return cls(
            id=f"{job.key.replace('/', '-')}-{index}",
            usable=bool(parsed.solution),
            solution=parsed.solution,
            self_evaluation=parsed.self_evaluation,
            self_score=parsed.self_score,
            reason=parsed.reason,
            text=c.text,
            **_sampled(job, c),
        )


@dataclass(frozen=True, kw_only=True)
class Verification(JsonRecord):
    """A verification of proof `proof`, or a meta-verification of its analysis number
    `verification` (they parse the same way). `index` numbers the samples of one job."""

    OMITTED: ClassVar[frozenset[str]] = frozenset({"verification", "problem", "round"})

    key: str = ""
    proof: str
    verification: int | None = None  # meta-verifications only: the analysis they rate
    problem: str | None = None
    round: int | None = None
    index: int
    score: float | None  # None: unreadable (`reason` says why)
    reason: str | None = None
    analysis: str = ""
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def found_issues(self) -> bool:
        return self.score in ISSUE_SCORES

    @classmethod
    def sampled(cls, job: Job, index: int, c: Completion) -> Verification:
        """Sample `index` of a verification or meta-verification job, parsed."""
        verdict = parse_verdict(c.text, c.finish_reason)
        return cls(
            index=index,
            score=verdict.score,
            reason=verdict.reason,
            analysis=verdict.analysis,
            **_sampled(job, c),
        )

    @classmethod
    def of(cls, record: Verification | Mapping[str, Any]) -> Verification:
        """A record as given, or read from its JSON line (what `prover.jobs.verdict_record`
        hands to callers that keep lines, such as the benchmarks)."""
        return record if isinstance(record, Verification) else cls.from_json(record)


@dataclass(frozen=True, kw_only=True)
class RoundRecord(JsonRecord):
    """A finished loop round: each problem's pool summary and each stage's usage."""

    round: int
    problems: dict[str, dict] = field(default_factory=dict)
    stages: dict[str, dict] = field(default_factory=dict)


SCHEMAS: dict[str, type[JsonRecord]] = {
    PROOFS: ProofRecord,
    VERIFICATIONS: Verification,
    META: Verification,
    ROUNDS: RoundRecord,
}


def by_proof(records: Iterable[Verification]) -> defaultdict[str, list[Verification]]:
    grouped: defaultdict[str, list[Verification]] = defaultdict(list)
    for record in records:
        grouped[record.proof].append(record)
    return grouped


# -- tokens --------------------------------------------------------------------------------


def tokens(record: ProofRecord | Verification | Mapping[str, Any]) -> dict[str, int]:
    """Tokens a record cost; a prompt that never ran (too long for the context) cost none.
    A mapping is a JSON line of a schema kept elsewhere (the evaluation's samples)."""
    get = record.get if isinstance(record, Mapping) else functools.partial(getattr, record)
    if get("finish_reason") == "prompt_too_long":
        return {"prompt_tokens": 0, "completion_tokens": 0}
    return {"prompt_tokens": get("prompt_tokens"), "completion_tokens": get("completion_tokens")}


def usage(records: Iterable[ProofRecord | Verification | Mapping[str, Any]]) -> dict[str, int]:
    counted = [tokens(r) for r in records]
    return {
        "samples": len(counted),
        "prompt_tokens": sum(c["prompt_tokens"] for c in counted),
        "completion_tokens": sum(c["completion_tokens"] for c in counted),
    }


# -- a run directory's records, in memory --------------------------------------------------


class RunRecords:
    """The typed records of one run directory: each kind is read once, on first use, then
    kept in memory as records are appended. An append lands on disk (one write + fsync)
    before it is kept, so memory never holds what a resumed run would not see."""

    def __init__(self, run: RunDir):
        self.run = run
        self._kept: dict[str, list] = {}

    def get(self, kind: str) -> list:
        if kind not in self._kept:
            self._kept[kind] = [SCHEMAS[kind].from_json(r) for r in self.run.records(kind)]
        return self._kept[kind]

    def append(self, kind: str, records: list) -> None:
        self.run.append(kind, [r.to_json() for r in records])
        self.get(kind).extend(records)
