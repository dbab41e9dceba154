"""Scaled verification on the generator's own proofs, for the DeepSeekMath-V2 learning check.

Held-out proofs written by the SFT generator (its sampled completions; the verifier reads the
`## Solution` part, as the generator reward does) are labelled by the exact checker, then:
- verified greedily once (accuracy overall and per exact label 1 / 0.5 / 0);
- verified by N_MAX samples (at the check's `label_temperature`), and every issue-finding
  analysis meta-verified M_MAX times, in two batched calls (`prover.jobs`, the same jobs the
  loop and `prover label` run). Every smaller budget is a prefix of these samples, so the
  accuracy of the majority and of the mean of n samples (n = 1, 2, 4, 8, 16), and
  auto-labelling (`autolabel.label_proof`, the published rules) over a grid of (n, m, k),
  cost no more generation than the largest budget.

The majority of n scores breaks ties toward the lower score (an issue found twice is not
outvoted by two passes); the mean is rounded to the nearest of 0, 0.5, 1 (ties down). An
unreadable sample counts as a wrong answer in accuracy and as unreadable in the label rules.
This module does not train anything or print the report.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from prover.backends.base import Backend, Sampling
from prover.jobs import meta_jobs, run_jobs, verdict_record, verification_jobs
from prover.parse import parse_generation
from prover.prompts import Templates
from verifier_train.v2.autolabel import LABELLED, label_proof
from verifier_train.v2.toyworld import check_proof

N_GRID = (1, 2, 4, 8, 16)
# Meta-verifications per issue-finding analysis. With worked meta answers, 3 per analysis made
# scaled verification take 682 s a seed, the check's longest job, and the m = 3 rows never
# reached 50% coverage (RESULTS.md, 2026-12-06); the k > 1 rows trade coverage for precision.
M_MAX = 1
# (n, m, k): n analyses, m meta-verifications per issue-finding analysis, k valid needed.
# The (n, 1, 1) rows give the precision curve in n; the others trade coverage for precision.
LABEL_GRID = tuple((n, 1, 1) for n in N_GRID) + ((4, 1, 2), (8, 1, 2), (16, 1, 2), (16, 1, 4))
LEVELS = (0.0, 0.5, 1.0)


@dataclass(frozen=True)
class GeneratedProof:
    """A generator-written proof of a held-out problem with its exact label."""

    problem: str
    solution: str
    label: float


@dataclass
class Scaled:
    """What scaled verification measured on generator-written proofs."""

    proofs: int
    labels: dict[str, int]  # exact label -> proofs
    greedy: float  # greedy accuracy
    greedy_by_label: dict[str, float | None]
    majority: dict[int, float] = field(default_factory=dict)  # n -> accuracy
    mean: dict[int, float] = field(default_factory=dict)
    grid: list[dict] = field(default_factory=list)  # one row per (n, m, k)
    seconds: float = 0.0


def generated_proofs(pairs: Sequence[tuple[str, str]]) -> list[GeneratedProof]:
    """The readable proofs among (problem, completion) pairs, labelled by `check_proof`."""
    out = []
    for problem, text in pairs:
        solution = parse_generation(text).solution
        if solution:
            out.append(GeneratedProof(problem, solution, check_proof(problem, solution).score))
    return out


def proof_pairs(proofs: Sequence[GeneratedProof]) -> dict[str, tuple[str, str]]:
    """Proof id ("g0", "g1", ...) -> (problem, solution), as the jobs take them."""
    return {f"g{i}": (p.problem, p.solution) for i, p in enumerate(proofs)}


def key(label: float) -> str:
    return f"{label:g}"


def majority(scores: Sequence[float | None]) -> float | None:
    readable = [s for s in scores if s is not None]
    if not readable:
        return None
    counts = Counter(readable)
    return max(counts, key=lambda s: (counts[s], -s))


def rounded_mean(scores: Sequence[float | None]) -> float | None:
    readable = [s for s in scores if s is not None]
    if not readable:
        return None
    mean = statistics.mean(readable)
    return min(LEVELS, key=lambda level: (abs(level - mean), level))


def by_label(right: Sequence[bool], proofs: Sequence[GeneratedProof]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for level in LEVELS:
        mine = [ok for ok, p in zip(right, proofs, strict=True) if p.label == level]
        out[key(level)] = statistics.mean(mine) if mine else None
    return out


def verify(
    backend: Backend, templates: Templates, proofs: Sequence[GeneratedProof], n: int,
    sampling: Sampling,
) -> dict[str, list[dict]]:  # fmt: skip
    """n verification records per proof id ("g0", "g1", ...), in sample order."""
    pairs = proof_pairs(proofs)
    records: list[dict] = []
    run_jobs(backend, verification_jobs(templates, pairs, n), sampling, verdict_record,
             records.extend)  # fmt: skip
    out: dict[str, list[dict]] = {pid: [] for pid in pairs}
    for r in sorted(records, key=lambda r: (r["proof"], r["index"])):
        out[r["proof"]].append(r)
    return out


def greedy(backend: Backend, templates: Templates, proofs: Sequence[GeneratedProof],
           tokens: int) -> list[dict]:  # fmt: skip
    """One greedy verification record per proof, in the proofs' order."""
    once = verify(backend, templates, proofs, 1, Sampling(temperature=0, max_tokens=tokens))
    return [once[f"g{i}"][0] for i in range(len(proofs))]


ByN = dict[int, float]  # n -> accuracy


def sampled(backend: Backend, templates: Templates, proofs: Sequence[GeneratedProof], n: int,
            sampling: Sampling) -> tuple[ByN, ByN, list[dict]]:  # fmt: skip
    """n analyses per proof and M_MAX meta-verifications of each issue-finding one, all at
    `sampling`: (majority of n accuracy, mean of n accuracy, label grid), every n a prefix."""
    verdicts = verify(backend, templates, proofs, n, sampling)
    metas = meta_verify(backend, templates, proofs, verdicts, M_MAX, sampling)
    return (accuracy_by_n(proofs, verdicts, majority, n),
            accuracy_by_n(proofs, verdicts, rounded_mean, n),
            label_grid(proofs, verdicts, metas, n))  # fmt: skip


def meta_verify(
    backend: Backend, templates: Templates, proofs: Sequence[GeneratedProof],
    verdicts: dict[str, list[dict]], m: int, sampling: Sampling,
) -> dict[str, list[dict]]:  # fmt: skip
    """m meta-verification records of every issue-finding analysis, by proof id."""
    pairs = proof_pairs(proofs)
    analyses = [v for vs in verdicts.values() for v in vs]
    records: list[dict] = []
    jobs = meta_jobs(templates, pairs, analyses, m)
    run_jobs(backend, jobs, sampling, verdict_record, records.extend)
    out: dict[str, list[dict]] = {pid: [] for pid in pairs}
    for r in records:
        out[r["proof"]].append(r)
    return out


def accuracy_by_n(proofs, verdicts, combine, most: int) -> dict[int, float]:
    """n -> accuracy of `combine` over the first n sampled scores of each proof (n <= most)."""
    out = {}
    for n in (n for n in N_GRID if n <= most):
        right = [
            combine([v["score"] for v in verdicts[f"g{i}"][:n]]) == p.label
            for i, p in enumerate(proofs)
        ]
        out[n] = statistics.mean(right) if right else 0.0
    return out


def label_grid(proofs, verdicts, metas, most: int) -> list[dict]:
    """Precision and coverage of the published label rules for each (n, m, k) of the grid
    with n <= most, each budget a prefix of the samples."""
    rows = []
    for n, m, k in (b for b in LABEL_GRID if b[0] <= most):
        labelled = right = 0
        for i, p in enumerate(proofs):
            first = verdicts[f"g{i}"][:n]
            mine = [x for x in metas[f"g{i}"] if x["verification"] < n and x["index"] < m]
            label = label_proof(first, mine, k)
            if label.status == LABELLED:
                labelled += 1
                right += label.score == p.label
        rows.append({"n": n, "m": m, "k": k, "labelled": labelled, "right": right,
                     "coverage": labelled / len(proofs) if proofs else 0.0,
                     "precision": right / labelled if labelled else None})  # fmt: skip
    return rows


def best_label_row(rows: Sequence[dict], min_coverage: float = 0.5) -> dict | None:
    """The most precise budget with coverage >= `min_coverage` (ties: more coverage)."""
    ok = [r for r in rows if r["coverage"] >= min_coverage and r["precision"] is not None]
    return max(ok, key=lambda r: (r["precision"], r["coverage"]), default=None)


def precision_by_n(rows: Sequence[dict]) -> dict[int, float | None]:
    """n -> precision of the (n, 1, 1) budget: how labels sharpen with more analyses."""
    return {r["n"]: r["precision"] for r in rows if (r["m"], r["k"]) == (1, 1)}
