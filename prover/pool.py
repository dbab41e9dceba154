"""The proof pool of one problem: mean scores, ranking and the choice of what to refine.

Everything here is derived from run records (proofs, verifications, meta-verifications), so a
resumed run rebuilds the same pool. This module does not call models or write files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import fmean

# re-exported: `verifier_train.v2.rewards` reads the issue scores here
from prover.runrecords import ProofRecord, Verification


@dataclass
class Checks:
    """A proof's verifications and the meta-verifications of those: what its score is."""

    verifications: list[Verification] = field(default_factory=list)
    meta: dict[int, list[Verification]] = field(default_factory=dict)  # by verification index

    @property
    def scores(self) -> list[float]:
        return [v.score for v in self.verifications if v.score is not None]

    @property
    def mean(self) -> float | None:
        return fmean(self.scores) if self.scores else None

    @property
    def passed(self) -> bool:
        """Mean score 1: every verification that could be read gave 1. This is the published
        rule: unreadable verifications are left out of the mean (and reported), and at least
        one must be readable."""
        return self.mean == 1.0

    def add_meta(self, record: Verification) -> None:
        self.meta.setdefault(record.verification, []).append(record)

    def meta_ok(self, index: int) -> bool:
        """An analysis stands unless its meta-verifications rate it below 0.5 on average."""
        scores = [m.score for m in self.meta.get(index, []) if m.score is not None]
        return not scores or fmean(scores) >= 0.5

    def issue_analyses(self, limit: int = 8) -> list[str]:
        """Up to `limit` analyses that found issues and survived meta-verification,
        lowest score first."""
        found = [v for v in self.verifications if v.found_issues and self.meta_ok(v.index)]
        found.sort(key=lambda v: (v.score, v.index))
        return [v.analysis for v in found[:limit]]


@dataclass(kw_only=True)
class ProofStats(Checks):
    """One proof of the pool with its verifications (and the meta-verifications of those)."""

    proof: ProofRecord

    @property
    def id(self) -> str:
        return self.proof.id

    def rank_key(self) -> tuple:
        """Ascending sort key, best first: highest mean score, then highest self-score (the
        DeepSeekMath-V2 tie-break), then id for determinism. Unscored proofs come last."""
        mean = -1.0 if self.mean is None else self.mean
        return (-mean, -(self.proof.self_score or 0.0), self.id)


def build_pools(
    proofs: list[ProofRecord], verifications: list[Verification], meta: list[Verification]
) -> dict[str, list[ProofStats]]:
    """Problem id -> stats of its usable proofs, from the run's records."""
    stats = {p.id: ProofStats(proof=p) for p in proofs if p.usable}
    for v in verifications:
        if v.proof in stats:
            stats[v.proof].verifications.append(v)
    for m in meta:
        if m.proof in stats:
            stats[m.proof].add_meta(m)
    pools: dict[str, list[ProofStats]] = {}
    for s in stats.values():
        pools.setdefault(s.proof.problem, []).append(s)
    return pools


def ranked(pool: list[ProofStats]) -> list[ProofStats]:
    return sorted(pool, key=ProofStats.rank_key)


def best(pool: list[ProofStats]) -> ProofStats | None:
    return ranked(pool)[0] if pool else None
