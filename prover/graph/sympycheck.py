"""The computer-algebra check of a claim's equalities, time-bounded.

Each equality `left = right` found in a claim (`prover.graph.claims.equalities`) goes to
Math-Verify's LaTeX parser and sympy comparison in the worker pool of `prover.grading`, which
waits at most `timeout` seconds per equality and kills a worker that runs over. Results:
- `holds`: the two sides are equal (for every value of the variables, when there are any);
- `false`: a closed equality (no variables: `2+2 = 5`) is wrong, an arithmetic error;
- `not_identity`: an equality with variables is not an identity; it may still be a true
  equation under the proof's assumptions (`x^2 = 4` once x = 2), so it is no error;
- `undecided`: a side did not parse, or the check ran out of time.
A claim's status is `false` if any of its equalities is, `holds` if all hold, and `undecided`
otherwise. Note Math-Verify compares numbers after rounding to about 6 significant digits.

This module does not find the equalities (`prover.graph.claims`) or store anything.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from prover.graph.claims import equalities, is_closed

MAX_EQUALITIES = 8  # per claim: bounds the time one long computation can take


def equality_status(left: str, right: str, timeout: float) -> str:
    from prover.grading import math_verify_equal

    verdict = math_verify_equal(f"${left}$", f"${right}$", timeout=timeout)
    if verdict is None:
        return "undecided"
    if verdict:
        return "holds"
    return "false" if is_closed(left) and is_closed(right) else "not_identity"


def claim_status(statuses: list[str]) -> str:
    if "false" in statuses:
        return "false"
    return "holds" if all(s == "holds" for s in statuses) else "undecided"


def check_claims(texts: dict[str, str], timeout: float = 5.0) -> dict[str, tuple[str, list]]:
    """{claim id: (status, [{left, right, status}, ...])} for the claims that hold at least
    one checkable equality; the others are left out."""
    pairs = {cid: equalities(text)[:MAX_EQUALITIES] for cid, text in texts.items()}
    jobs = [(cid, left, right) for cid, found in pairs.items() for left, right in found]
    if not jobs:
        return {}
    workers = min(len(jobs), max(1, (os.cpu_count() or 2) // 2), 4)
    with ThreadPoolExecutor(workers, thread_name_prefix="graph-sympy") as pool:
        statuses = list(pool.map(lambda job: equality_status(job[1], job[2], timeout), jobs))
    found: dict[str, list[dict]] = {}
    for (cid, left, right), status in zip(jobs, statuses, strict=True):
        found.setdefault(cid, []).append({"left": left, "right": right, "status": status})
    return {cid: (claim_status([e["status"] for e in eqs]), eqs) for cid, eqs in found.items()}
