"""Verify given proofs V times each (and optionally meta-verify the analyses that find issues),
one batched backend call per stage. `prover verify` uses it for one proof; batch scoring builds
on it. This module does not read input files or keep a run directory.
"""

from __future__ import annotations

from prover.backends.base import Backend, Sampling, user_chat
from prover.jobs import Job, Progress, run_jobs, usage, verdict_record
from prover.pool import ISSUE_SCORES, ProofStats
from prover.prompts import Templates


def verify_proofs(
    backend: Backend,
    items: list[tuple[str, str]],
    verifications: int,
    sampling: Sampling,
    templates: Templates | None = None,
    meta: int = 0,
    progress: Progress | None = None,
) -> list[ProofStats]:
    """Verify each (problem, proof) `verifications` times, and meta-verify each analysis that
    found issues `meta` times. Returns one `ProofStats` per item, in order."""
    templates = templates or Templates.load()
    stats = [
        ProofStats({"id": str(k), "problem": str(k), "round": 0, "solution": proof})
        for k, (_, proof) in enumerate(items)
    ]
    jobs = [
        Job(
            str(k),
            user_chat(templates.verification(problem, proof)),
            verifications,
            {"proof": str(k)},
        )
        for k, (problem, proof) in enumerate(items)
    ]
    records: list[dict] = []
    run_jobs(backend, jobs, sampling, verdict_record, records.extend, progress=progress)
    for record in sorted(records, key=lambda r: r["index"]):
        stats[int(record["proof"])].verifications.append(record)
    if meta:
        _meta_verify(backend, items, stats, meta, sampling, templates)
    return stats


def _meta_verify(
    backend: Backend,
    items: list[tuple[str, str]],
    stats: list[ProofStats],
    meta: int,
    sampling: Sampling,
    templates: Templates,
) -> None:
    jobs = [
        Job(
            f"{k}/v{v['index']}",
            user_chat(templates.meta(*items[k], v["analysis"])),
            meta,
            {"proof": str(k), "verification": v["index"]},
        )
        for k, s in enumerate(stats)
        for v in s.verifications
        if v["score"] in ISSUE_SCORES
    ]
    records: list[dict] = []
    run_jobs(backend, jobs, sampling, verdict_record, records.extend)
    for record in records:
        stats[int(record["proof"])].meta.setdefault(record["verification"], []).append(record)


def verification_report(stats: ProofStats) -> dict:
    """Mean score, every score and analysis (with its meta-verifications), and tokens."""
    meta = [m for ms in stats.meta.values() for m in ms]
    return {
        "mean_score": stats.mean,
        "scores": [v["score"] for v in stats.verifications],
        "verifications": [
            {
                "score": v["score"],
                "reason": v["reason"],
                "analysis": v["analysis"],
                "meta": [
                    {"score": m["score"], "reason": m["reason"], "analysis": m["analysis"]}
                    for m in stats.meta.get(v["index"], [])
                ],
            }
            for v in stats.verifications
        ],
        "tokens": {"verify": usage(stats.verifications), "meta": usage(meta)},
    }
