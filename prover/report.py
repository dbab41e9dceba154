"""`report.json` of a run, derived from its records (nothing in it is stored twice).

This module does not compute agreement with human grades (that is batch scoring).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict

from prover.pool import ProofStats, best, build_pools
from prover.runrecords import META, PROOFS, ROUNDS, VERIFICATIONS, RoundRecord, RunRecords, usage

KINDS = {"generate": PROOFS, "verify": VERIFICATIONS, "meta": META}


def token_totals(records: RunRecords) -> dict[str, dict[str, int]]:
    """Samples and tokens per stage, over every record of the run."""
    return {stage: usage(records.get(kind)) for stage, kind in KINDS.items()}


def stage_seconds(rounds: list[RoundRecord]) -> dict[str, float]:
    seconds: dict[str, float] = defaultdict(float)
    for record in rounds:
        for stage, used in record.stages.items():
            seconds[stage] += used.get("seconds", 0.0)
    return {k: round(v, 3) for k, v in seconds.items()}


def summary(pool: list[ProofStats]) -> dict:
    """The state of one problem's pool: what a round record keeps."""
    top = best(pool)
    return {
        "proofs": len(pool),
        "passed": any(s.passed for s in pool),
        "best_proof": top.id if top else None,
        "mean_score": top.mean if top else None,
    }


def problem_entry(pid: str, pool: list[ProofStats], rounds: list[RoundRecord]) -> dict:
    """A problem's line in the report: its pool summary and its best proof in full."""
    entry = {"problem": pid, "rounds": sum(1 for r in rounds if pid in r.problems)}
    entry |= summary(pool)
    top = best(pool)
    if top is not None:
        entry |= {
            "round": top.proof.round,
            "scores": top.scores,
            "verifications": len(top.verifications),
            "self_score": top.proof.self_score,
            "solution": top.proof.solution,
        }
    return entry


def build_report(records: RunRecords, problems: dict[str, str], config) -> dict:
    """The report of a run from its records (as the loop holds them in memory)."""
    rounds = records.get(ROUNDS)
    pools = build_pools(records.get(PROOFS), records.get(VERIFICATIONS), records.get(META))
    entries = [problem_entry(pid, pools.get(pid, []), rounds) for pid in problems]
    return {
        "problems": entries,
        "rounds": len({r.round for r in rounds}),
        "tokens": token_totals(records),
        "seconds": stage_seconds(rounds),
        "config": asdict(config),
    }
