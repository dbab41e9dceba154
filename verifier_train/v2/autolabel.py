"""Auto-labelling of proofs by scaled verification (the DeepSeekMath-V2 data loop).

Each proof gets n analyses from the verifier; every analysis that finds issues (score 0 or
0.5) gets m meta-verifications; `label_proof` then applies the published rules:

1. an analysis that found issues is *valid* when most of its meta-verifications confirm it:
   a meta-verification confirms when it rates the analysis 1 ("every named issue is real and
   the score is justified"; 0.5 means the score or details are off, so it does not confirm),
   and "most" is strictly more than half of ALL m meta-verifications of that analysis: an
   unreadable meta-verification counts as not confirming, so an unreadable majority (or a tie)
   leaves the analysis invalid;
2. among the analyses with the lowest score, if at least k are valid, the label is that score;
3. if no analysis finds an issue, the label is 1;
4. otherwise the proof is left unlabelled and marked for a human.

The rules read only what could be read, and a label must not depend on a verdict that could
not be read: an unreadable analysis might have scored anything, so it blocks the labels 1 and
0.5 (it could have been lower) but not 0. When the lowest-scoring analyses are not valid the
proof goes to a human; there is no fall-back to the next score up (the paper has none, and an
analysis that claims a fatal error nobody could confirm is exactly what a human should see).

`AutoLabeler` runs the two stages (one backend call each) over a proof set on the engine of
`prover score` (`prover.batchverify`): a run directory keeps every verification and
meta-verification as it finishes, and a proof's output line is appended as soon as its label
is decided, so a killed run resumes without recomputing anything. This module does not read
input files (see `prover.proofsets`), train anything, or decide n, m and k (the paper does
not publish them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.backends.base import Backend, Sampling
from prover.batchverify import META_VERIFY, VERIFY, BatchVerifier, Stages
from prover.errors import InputError
from prover.loop import stage_seed
from prover.progress import Reporter
from prover.prompts import Templates
from prover.proofsets import ProofItem
from prover.rundir import RunDir
from prover.runrecords import Verification, usage

# a verification as its record or its JSON line (the benchmarks keep lines)
Analyses = Iterable[Verification | Mapping[str, Any]]

CONFIRM = 1.0  # the meta-verification score that confirms an analysis
LABELLED, NEEDS_HUMAN = "labelled", "needs_human"


@dataclass(frozen=True)
class Label:
    """A proof's label (None when it needs a human), its status and why."""

    score: float | None
    status: str  # LABELLED or NEEDS_HUMAN
    evidence: dict


# -- the rules --------------------------------------------------------------------------


def meta_votes(metas: Iterable[Verification]) -> dict[int, list[float | None]]:
    """Verification index -> the scores its meta-verifications gave (None: unreadable)."""
    votes: dict[int, list[float | None]] = {}
    for m in sorted(metas, key=lambda m: (m.verification, m.index)):
        votes.setdefault(m.verification, []).append(m.score)
    return votes


def is_valid(votes: list[float | None]) -> bool:
    """Strictly more than half of all the votes confirm (unreadable ones do not)."""
    return 2 * sum(v == CONFIRM for v in votes) > len(votes)


def _judged(verdicts: list[Verification], votes: dict[int, list[float | None]]) -> list[dict]:
    """Every analysis that found issues, with its meta votes and whether it is valid."""
    return [
        {
            "index": v.index,
            "score": v.score,
            "valid": is_valid(votes.get(v.index, [])),
            "votes": votes.get(v.index, []),
            "analysis": v.analysis,
        }
        for v in verdicts
        if v.found_issues
    ]


def label_proof(verdicts: Analyses, metas: Analyses, k: int) -> Label:
    """Label one proof from its analyses and their meta-verifications.

    `evidence` holds the rule that decided (`rule`, `reason`), every analysis score by index,
    the unreadable analyses (and why), the lowest score, the valid and invalid analyses at
    that score, and each issue-finding analysis with its text and meta votes."""
    verdicts = sorted(map(Verification.of, verdicts), key=lambda v: v.index)
    scores = [v.score for v in verdicts]
    readable = [s for s in scores if s is not None]
    judged = _judged(verdicts, meta_votes(map(Verification.of, metas)))
    lowest = min(readable, default=None)
    at_lowest = [j for j in judged if j["score"] == lowest]
    evidence = {
        "k": k,
        "scores": scores,
        "unreadable": [v.index for v in verdicts if v.score is None],
        "unread_reasons": sorted({v.reason for v in verdicts if v.score is None}),
        "lowest": lowest,
        "valid": [j["index"] for j in at_lowest if j["valid"]],
        "invalid": [j["index"] for j in at_lowest if not j["valid"]],
        "issues": judged,
    }
    score, rule, reason = _decide(lowest, len(evidence["valid"]), len(at_lowest), evidence, k)
    status = NEEDS_HUMAN if score is None else LABELLED
    return Label(score, status, {"rule": rule, "reason": reason, **evidence})


def _decide(
    lowest: float | None, valid: int, at_lowest: int, evidence: dict, k: int
) -> tuple[float | None, str, str]:
    """(label or None, rule name, reason) from the counts `label_proof` gathered."""
    unreadable = len(evidence["unreadable"])
    if lowest is None:
        return None, "no_readable", "no analysis could be read"
    if lowest == 1.0 and not unreadable:
        return 1.0, "no_issues", "no analysis found an issue"
    if lowest == 1.0:
        return None, "unreadable", f"no readable analysis found an issue, {unreadable} unread"
    if valid < k:
        why = f"{valid} of {at_lowest} analyses scoring {lowest:g} are valid; {k} needed"
        return None, "too_few_valid", why
    if unreadable and lowest > 0:
        why = f"{unreadable} unreadable analyses might have scored below {lowest:g}"
        return None, "unreadable", why
    return lowest, "lowest_valid", f"{valid} valid analyses scoring {lowest:g}"


# -- labelling proof sets ---------------------------------------------------------------


@dataclass(frozen=True)
class LabelConfig:
    analyses: int = 4  # n: verifications per proof
    meta: int = 3  # m: meta-verifications per issue-finding analysis
    min_valid: int = 2  # k: valid lowest-score analyses a label needs
    sampling: Sampling = field(default_factory=Sampling)

    def __post_init__(self) -> None:
        if min(self.analyses, self.meta, self.min_valid) < 1:
            raise InputError("n, m and k must be at least 1")
        if self.min_valid > self.analyses:
            raise InputError(
                f"k={self.min_valid} valid analyses can never be found among n={self.analyses}"
            )


def decided(verdicts: list[Verification], metas: list[Verification], config: LabelConfig) -> bool:
    """All n analyses are in, and m meta-verifications of each one that found issues."""
    if len(verdicts) < config.analyses:
        return False
    return len(metas) >= sum(v.found_issues for v in verdicts) * config.meta


@dataclass(frozen=True)
class LabelOutput:
    """A proof's line lands as soon as its label is decided, in either stage."""

    config: LabelConfig

    def done(self, stage: str, verdicts: list[Verification], metas: list[Verification]) -> bool:
        return decided(verdicts, metas, self.config)

    def line(
        self, item: ProofItem, verdicts: list[Verification], metas: list[Verification]
    ) -> dict:
        return label_record(item, verdicts, metas, self.config)


class AutoLabeler(BatchVerifier):
    """Labels proof items into `out` (one JSONL record per proof, appended as each proof is
    decided) with a run directory keeping every verification and meta-verification."""

    def __init__(
        self,
        verifier: Backend,
        config: LabelConfig,
        run: RunDir,
        out: Path,
        templates: Templates | None = None,
        reporter: Reporter | None = None,
        meta_verifier: Backend | None = None,
    ):
        verify, meta = (stage_seed(config.sampling, 0, s) for s in (VERIFY, META_VERIFY))
        stages = Stages(config.analyses, config.meta, verify, meta)
        output = LabelOutput(config)
        super().__init__(verifier, stages, output, run, out, templates, reporter, meta_verifier)

    def label(self, items: list[ProofItem]) -> list[dict]:
        """Verify, meta-verify and label what is missing; returns every item's output record."""
        return self.verify(items)


def label_record(
    item: ProofItem, verdicts: list[Verification], metas: list[Verification], config: LabelConfig
) -> dict:
    """The output line of one proof: its own fields, the label, its status and evidence."""
    label = label_proof(verdicts, metas, config.min_valid)
    return {
        "id": item.id,
        "file": item.file,
        "line": item.line,
        "problem_id": item.problem_id,
        "source": item.source,
        "problem": item.problem,
        "proof": item.proof,
        "human": item.normalized,
        "label": label.score,
        "status": label.status,
        "evidence": label.evidence,
        "tokens": {"verify": usage(verdicts), "meta": usage(metas)},
    }


def summarize(records: list[dict], skipped: list[str] | None = None) -> dict:
    """Counts over the output records: labels by score, proofs for a human (by rule), and
    the input records that were skipped."""
    labels = Counter(f"{r['label']:g}" for r in records if r["status"] == LABELLED)
    human = Counter(r["evidence"]["rule"] for r in records if r["status"] == NEEDS_HUMAN)
    return {
        "proofs": len(records),
        "labelled": sum(labels.values()),
        "labels": {s: labels[s] for s in ("0", "0.5", "1")},
        "needs_human": sum(human.values()),
        "needs_human_by_rule": dict(sorted(human.items())),
        "skipped": len(skipped or []),
        "bad_records": list(skipped or []),
    }
