"""Verify given proofs V times each (and optionally meta-verify), in one batched call per
stage. `prover verify` uses it for one proof; batch scoring builds on it. This module does not
read input files or keep a run directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from statistics import fmean

from prover.backends.base import Backend, Sampling
from prover.parse import Verdict, parse_meta, parse_verification
from prover.pool import ISSUE_SCORES
from prover.prompts import Templates


@dataclass
class ProofVerdicts:
    """Every verification of one proof, with the meta-verifications of each."""

    verdicts: list[Verdict]
    meta: dict[int, list[Verdict]] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=lambda: {"prompt": 0, "completion": 0})

    @property
    def scores(self) -> list[float]:
        return [v.score for v in self.verdicts if v.score is not None]

    @property
    def mean(self) -> float | None:
        return fmean(self.scores) if self.scores else None

    def as_dict(self) -> dict:
        return {
            "mean_score": self.mean,
            "scores": [v.score for v in self.verdicts],
            "verifications": [
                {
                    "score": v.score,
                    "reason": v.reason,
                    "analysis": v.analysis,
                    "meta": [{"score": m.score, "reason": m.reason} for m in self.meta.get(i, [])],
                }
                for i, v in enumerate(self.verdicts)
            ],
            "tokens": self.tokens,
        }


def _chat(content: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": content}]


def verify_proofs(
    backend: Backend,
    items: list[tuple[str, str]],
    verifications: int,
    sampling: Sampling,
    templates: Templates | None = None,
    meta: int = 0,
) -> list[ProofVerdicts]:
    """Verify each (problem, proof) `verifications` times; meta-verify issue-finding analyses
    `meta` times each. One backend call per stage, whatever the number of proofs."""
    templates = templates or Templates.load()
    prompts = [_chat(templates.verification(problem, proof)) for problem, proof in items]
    outs = backend.generate(prompts, verifications, sampling)
    results = []
    for completions in outs:
        verdicts = [parse_verification(c.text, c.finish_reason) for c in completions]
        result = ProofVerdicts(verdicts)
        result.tokens["prompt"] += sum(c.prompt_tokens for c in completions)
        result.tokens["completion"] += sum(c.completion_tokens for c in completions)
        results.append(result)
    if meta:
        _meta_verify(backend, items, results, meta, sampling, templates)
    return results


def _meta_verify(backend, items, results, meta: int, sampling, templates: Templates) -> None:
    targets = [
        (k, i, v)
        for k, result in enumerate(results)
        for i, v in enumerate(result.verdicts)
        if v.score in ISSUE_SCORES
    ]
    if not targets:
        return
    prompts = [_chat(templates.meta(*items[k], v.analysis)) for k, _, v in targets]
    outs = backend.generate(prompts, meta, sampling)
    for (k, i, _), completions in zip(targets, outs, strict=True):
        results[k].meta[i] = [parse_meta(c.text, c.finish_reason) for c in completions]
        results[k].tokens["prompt"] += sum(c.prompt_tokens for c in completions)
        results[k].tokens["completion"] += sum(c.completion_tokens for c in completions)
