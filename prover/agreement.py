"""Agreement between verifier scores and human grades, for `prover score` summaries.

Inputs are the output records of batch scoring (`mean_score`, `scores`, `human` on [0, 1],
`human_grade`, `scale`, and grouping fields). Proofs without a readable score or without a
human grade are counted, not compared. This module does not plot or print.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import fmean

BUCKETS = (0.0, 0.5, 1.0)  # the verifier's rubric; human grades are rounded onto it
GROUPS = ("problem_id", "level", "source", "file")


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson correlation; None when undefined (fewer than 2 points or a constant side)."""
    if len(xs) < 2:
        return None
    mx, my = fmean(xs), fmean(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx, syy = sum((x - mx) ** 2 for x in xs), sum((y - my) ** 2 for y in ys)
    return None if sxx == 0 or syy == 0 else sxy / math.sqrt(sxx * syy)


def ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    result = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for k in range(start, end + 1):
            result[order[k]] = (start + end) / 2 + 1
        start = end + 1
    return result


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    return pearson(ranks(xs), ranks(ys))


def bucket(value: float) -> float:
    """The nearest rubric score, halves rounding up (0.25 -> 0.5, 0.75 -> 1)."""
    return math.floor(value * 2 + 0.5) / 2


def comparable(records: list[dict]) -> list[dict]:
    return [r for r in records if r["mean_score"] is not None and r.get("human") is not None]


def agreement(records: list[dict], threshold: float = 0.5, score: str = "mean_score") -> dict:
    """Accuracy after thresholding, MAE (on [0, 1] and on the grade scale), correlations and
    the confusion matrix (human bucket -> verifier bucket) over comparable records."""
    pairs = [(r[score], r["human"], r["scale"]) for r in comparable(records)]
    if not pairs:
        return {"n": 0}
    v, h = [p[0] for p in pairs], [p[1] for p in pairs]
    return {
        "n": len(pairs),
        "accuracy": fmean((a >= threshold) == (b >= threshold) for a, b in zip(v, h, strict=True)),
        "mae": fmean(abs(a - b) for a, b in zip(v, h, strict=True)),
        "mae_grade": fmean(abs(a - b) * s for a, b, s in pairs),
        "pearson": pearson(v, h),
        "spearman": spearman(v, h),
        "mean_verifier": fmean(v),
        "mean_human": fmean(h),
        "confusion": confusion(v, h),
    }


def confusion(verifier: Sequence[float], human: Sequence[float]) -> dict[str, dict[str, int]]:
    table = {str(hb): {str(vb): 0 for vb in BUCKETS} for hb in BUCKETS}
    for v, h in zip(verifier, human, strict=True):
        table[str(bucket(h))][str(bucket(v))] += 1
    return table


def calibration(records: list[dict], bins: int = 5, threshold: float = 0.5) -> list[dict]:
    """Per verifier-score bin: how many proofs, their mean score, their mean human grade and
    the share humans passed."""
    rows = []
    pairs = [(r["mean_score"], r["human"]) for r in comparable(records)]
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        inside = [(v, h) for v, h in pairs if lo <= v < hi or (b == bins - 1 and v == 1.0)]
        row = {"bin": f"[{lo:.2f}, {hi:.2f}{']' if b == bins - 1 else ')'}", "n": len(inside)}
        if inside:
            row |= {
                "mean_verifier": fmean(v for v, _ in inside),
                "mean_human": fmean(h for _, h in inside),
                "human_pass_rate": fmean(h >= threshold for _, h in inside),
            }
        rows.append(row)
    return rows


def by_group(records: list[dict], key: str, threshold: float = 0.5) -> dict[str, dict]:
    """Agreement per value of `key`; records without one are left out (no "None" group)."""
    groups: dict[str, list[dict]] = {}
    for record in records:
        if record.get(key) is not None:
            groups.setdefault(str(record[key]), []).append(record)
    return {name: agreement(rs, threshold) for name, rs in sorted(groups.items())}


def by_verifications(records: list[dict], threshold: float = 0.5) -> list[dict]:
    """For k = 1..V: the variance of a k-sample mean score (s^2 / k from each proof's V
    scores, averaged over proofs) and the agreement of the mean of the first k scores."""
    scored = [[s for s in r["scores"] if s is not None] for r in records]
    most = max((len(s) for s in scored), default=0)
    rows = []
    for k in range(1, most + 1):
        variances = [_var(s) / k for s in scored if len(s) >= 2]
        first_k = [
            r | {"first_k": fmean(s[:k])}
            for r, s in zip(records, scored, strict=True)
            if len(s) >= k
        ]
        row = {"v": k, "variance": fmean(variances) if variances else None}
        rows.append(row | {"agreement": agreement(first_k, threshold, score="first_k")})
    return rows


def _var(xs: list[float]) -> float:
    m = fmean(xs)
    return sum((x - m) ** 2 for x in xs) / (len(xs) - 1)


def summarize(records: list[dict], threshold: float = 0.5) -> dict:
    """Everything `summary.json` holds."""
    means = [r["mean_score"] for r in records if r["mean_score"] is not None]
    return {
        "proofs": len(records),
        "scored": len(means),
        "unscored": len(records) - len(means),
        "with_human_grade": sum(1 for r in records if r.get("human") is not None),
        "threshold": threshold,
        "mean_score": fmean(means) if means else None,
        "agreement": agreement(records, threshold),
        "calibration": calibration(records, threshold=threshold),
        "by_verifications": by_verifications(records, threshold),
        "groups": {key: by_group(records, key, threshold) for key in GROUPS},
    }
