"""Verify given proofs V times each (and optionally meta-verify the analyses that find issues),
one batched backend call per stage: `verify_proofs` for a few proofs in memory (`prover
verify`), `BatchScorer` for whole proof sets written incrementally (`prover score`, on the
engine of `prover.batchverify`). This module does not read input files or compute agreement
with human grades.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from prover.backends.base import Backend, Sampling
from prover.batchverify import END, VERIFY, BatchVerifier, Stages
from prover.jobs import Progress, meta_jobs, run_jobs, verification_jobs
from prover.pool import Checks
from prover.progress import Reporter
from prover.prompts import Templates
from prover.proofsets import ProofItem
from prover.rundir import RunDir
from prover.runrecords import Verification, by_proof, usage


def verify_proofs(
    backend: Backend,
    items: list[tuple[str, str]],
    verifications: int,
    sampling: Sampling,
    templates: Templates | None = None,
    meta: int = 0,
    progress: Progress | None = None,
) -> list[Checks]:
    """Verify each (problem, proof) `verifications` times, and meta-verify each analysis that
    found issues `meta` times. Returns the `Checks` of each item, in order."""
    templates = templates or Templates.load()
    proofs = {str(k): item for k, item in enumerate(items)}
    records: list[Verification] = []
    jobs = verification_jobs(templates, proofs, verifications)
    run_jobs(backend, jobs, sampling, Verification.sampled, records.extend, progress=progress)
    checks: list[Verification] = []
    if meta:
        jobs = meta_jobs(templates, proofs, records, meta)
        run_jobs(backend, jobs, sampling, Verification.sampled, checks.extend)
    verdicts, metas = by_proof(records), by_proof(checks)
    return [checks_of(verdicts[pid], metas[pid]) for pid in proofs]


def checks_of(verifications: list[Verification], meta: list[Verification]) -> Checks:
    """One proof from its own verifications (put in index order) and meta-verifications."""
    checks = Checks(sorted(verifications, key=lambda v: v.index))
    for m in meta:
        checks.add_meta(m)
    return checks


def verification_report(checks: Checks) -> dict:
    """Mean score, every score and analysis (with its meta-verifications), and tokens."""
    meta = [m for ms in checks.meta.values() for m in ms]
    return {
        "mean_score": checks.mean,
        "scores": [v.score for v in checks.verifications],
        "verifications": [
            {
                "score": v.score,
                "reason": v.reason,
                "analysis": v.analysis,
                "meta": [
                    {"score": m.score, "reason": m.reason, "analysis": m.analysis}
                    for m in checks.meta.get(v.index, [])
                ],
            }
            for v in checks.verifications
        ],
        "tokens": {"verify": usage(checks.verifications), "meta": usage(meta)},
    }


# -- batch scoring of proof sets ---------------------------------------------------------


@dataclass(frozen=True)
class ScoreConfig:
    verifications: int = 4  # V
    meta: int = 0  # meta-verifications per issue-finding analysis (0: none)
    sampling: Sampling = field(default_factory=Sampling)


@dataclass(frozen=True)
class ScoreOutput:
    """A proof's line lands once its V verdicts are in (without meta-verification), else
    after the last stage; it holds the mean score, every score and analysis, and the human
    grade."""

    config: ScoreConfig

    def done(self, stage: str, verifications: list[Verification], meta: list[Verification]) -> bool:
        if stage == END:
            return True
        finished = len(verifications) == self.config.verifications
        return stage == VERIFY and not self.config.meta and finished

    def line(
        self, item: ProofItem, verifications: list[Verification], meta: list[Verification]
    ) -> dict:
        return output_record(item, verifications, meta)


class BatchScorer(BatchVerifier):
    """Scores proof items into `out` (one JSONL record per proof) with a run directory beside
    it that keeps every verification as it finishes, so a killed run resumes exactly."""

    def __init__(
        self,
        backend: Backend,
        config: ScoreConfig,
        run: RunDir,
        out: Path,
        templates: Templates | None = None,
        reporter: Reporter | None = None,
    ):
        stages = Stages(config.verifications, config.meta, config.sampling, config.sampling)
        super().__init__(backend, stages, ScoreOutput(config), run, out, templates, reporter)

    def score(self, items: list[ProofItem]) -> list[dict]:
        """Verify (and meta-verify) what is missing; returns the output record of every item."""
        return self.verify(items)


def output_record(
    item: ProofItem, verifications: list[Verification], meta: list[Verification]
) -> dict:
    """The line of one proof (from its own records): id, mean score, every score and analysis,
    human grade."""
    checks = checks_of(verifications, meta)
    report = verification_report(checks)
    reasons = sorted({v.reason for v in checks.verifications if v.reason})
    return {
        "id": item.id,
        "file": item.file,
        "line": item.line,
        "problem_id": item.problem_id,
        "level": item.level,
        "source": item.source,
        "mean_score": report["mean_score"],
        "scores": report["scores"],
        "unscored_reasons": reasons,
        "human_grade": item.grade,
        "scale": item.scale,
        "human": item.normalized,
        "verifications": report["verifications"],
        "tokens": report["tokens"],
    }
