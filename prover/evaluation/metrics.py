"""Benchmark metrics from graded samples: accuracy, maj@k and unbiased pass@k.

- accuracy: the mean over items of the fraction of correct samples (pass@1 estimated from all
  n samples; with one sample, plain accuracy);
- maj@k: a majority vote over the normalized extracted answers of an item's k samples (samples
  without an answer do not vote; ties go to the answer seen first); correct when the winning
  answer's first sample is correct;
- pass@k: 1 - C(n-c, k) / C(n, k), computed as a stable product, for k <= n.
The DeepSeekMath-rules verdict is the primary one; Math-Verify's is reported beside it (an
unknown Math-Verify verdict counts as wrong). Metrics are given overall and per subject and per
level where the data has them. This module does not grade, read or write files.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from prover.answers import normalize
from prover.parse import to_number


@dataclass(frozen=True)
class ItemResult:
    """The graded samples of one item, in sample order."""

    id: str
    correct: tuple[bool, ...]  # DeepSeekMath-rules verdicts
    math_verify: tuple[bool | None, ...]
    answers: tuple[str | None, ...]
    subject: str | None = None
    level: str | None = None
    program: tuple[bool | None, ...] = ()  # program-output verdicts (PoT); None: no program
    gym: tuple[float | None, ...] = ()  # reasoning-gym scores


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples of which c are correct (Chen et al., 2021)."""
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"pass@k needs 0 <= c <= n and 1 <= k <= n (n={n}, c={c}, k={k})")
    if n - c < k:
        return 1.0
    return 1.0 - math.prod(1.0 - k / i for i in range(n - c + 1, n + 1))


def ks_for(n: int) -> list[int]:
    """The k reported for n samples: 1, the powers of two below n, and n."""
    return sorted({1, n, *(2**p for p in range(1, n.bit_length()) if 2**p < n)})


def vote_key(answer: str | None) -> str | None:
    """A voting key: the DeepSeekMath normal form (`prover.answers.normalize`), numbers by
    value, so that `0.5`, `\\frac{1}{2}` and `1/2` vote together."""
    if answer is None:
        return None
    text = normalize(answer)
    number = to_number(text.replace(",", "")) if text else None
    return f"{number:.10g}" if number is not None else (text.lower() or None)


def majority_correct(answers: Sequence[str | None], correct: Sequence[bool]) -> bool:
    """Whether the majority answer (by normalized value) is correct."""
    keys = [vote_key(a) for a in answers]
    votes = Counter(k for k in keys if k is not None)
    if not votes:
        return False
    best = max(votes, key=lambda k: (votes[k], -keys.index(k)))
    return correct[keys.index(best)]


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def aggregate(results: Sequence[ItemResult]) -> dict:
    """Metrics of a group of items; pass@k for each k every item has samples for."""
    n_min = min((len(r.correct) for r in results), default=0)
    if not n_min:
        return {"items": len(results), "samples": 0}
    out = {
        "items": len(results),
        "samples": n_min,
        "accuracy": _mean(sum(r.correct) / len(r.correct) for r in results),
        f"maj@{n_min}": _mean(majority_correct(r.answers, r.correct) for r in results),
    }
    for k in ks_for(n_min):
        out[f"pass@{k}"] = _mean(pass_at_k(len(r.correct), sum(r.correct), k) for r in results)
    out |= _secondary(results)
    return out


def _secondary(results: Sequence[ItemResult]) -> dict:
    """Math-Verify accuracy, grader disagreements, program-output and reasoning-gym scores."""
    mv = [bool(v) for r in results for v in r.math_verify]
    pairs = [(d, m) for r in results for d, m in zip(r.correct, r.math_verify, strict=True)]
    out = {
        "math_verify_accuracy": _mean(mv),
        "math_verify_unknown": sum(m is None for _, m in pairs),
        "grader_disagreements": sum(m is not None and d != m for d, m in pairs),
    }
    programs = [p for r in results for p in r.program]
    if any(p is not None for p in programs):
        out["program_accuracy"] = _mean(bool(p) for p in programs)
        out["programs_run"] = sum(p is not None for p in programs)
    gym = [g for r in results for g in r.gym if g is not None]
    if gym:
        out["gym_score"] = _mean(gym)
    return out


def grouped(results: Sequence[ItemResult]) -> dict:
    """Overall metrics, then per subject and per level where any item has one."""
    report = {"overall": aggregate(results)}
    for attr in ("subject", "level"):
        groups: dict[str, list[ItemResult]] = defaultdict(list)
        for r in results:
            if getattr(r, attr) is not None:
                groups[getattr(r, attr)].append(r)
        if groups:
            report[f"by_{attr}"] = {name: aggregate(groups[name]) for name in sorted(groups)}
    return report
