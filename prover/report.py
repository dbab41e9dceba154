"""`report.json` of a run, derived from its records (nothing in it is stored twice).

This module does not compute agreement with human grades (that is batch scoring).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict

from prover.pool import ProofStats, best, build_pools
from prover.rundir import RunDir

KINDS = {"generate": "proofs", "verify": "verifications", "meta": "meta"}


def token_totals(run: RunDir) -> dict[str, dict[str, int]]:
    """Prompt and completion tokens per stage, over every record of the run."""
    totals = {}
    for stage, kind in KINDS.items():
        records = run.records(kind)
        totals[stage] = {
            "samples": len(records),
            "prompt_tokens": sum(r["prompt_tokens"] for r in records),
            "completion_tokens": sum(r["completion_tokens"] for r in records),
        }
    return totals


def stage_seconds(rounds: list[dict]) -> dict[str, float]:
    seconds: dict[str, float] = defaultdict(float)
    for record in rounds:
        for stage, usage in record["stages"].items():
            seconds[stage] += usage.get("seconds", 0.0)
    return {k: round(v, 3) for k, v in seconds.items()}


def problem_entry(pid: str, pool: list[ProofStats], rounds: list[dict]) -> dict:
    top = best(pool)
    entry = {
        "problem": pid,
        "rounds": sum(1 for r in rounds if pid in r["problems"]),
        "proofs": len(pool),
        "passed": any(s.passed for s in pool),
        "best_proof": None,
    }
    if top is not None:
        entry.update(
            best_proof=top.id,
            round=top.proof["round"],
            mean_score=top.mean,
            scores=top.scores,
            verifications=len(top.verifications),
            self_score=top.proof.get("self_score"),
            solution=top.proof["solution"],
        )
    return entry


def build_report(run: RunDir, problems: dict[str, str], config) -> dict:
    rounds = run.records("rounds")
    pools = build_pools(run.records("proofs"), run.records("verifications"), run.records("meta"))
    entries = [problem_entry(pid, pools.get(pid, []), rounds) for pid in problems]
    return {
        "problems": entries,
        "rounds": len({r["round"] for r in rounds}),
        "tokens": token_totals(run),
        "seconds": stage_seconds(rounds),
        "config": asdict(config),
    }
