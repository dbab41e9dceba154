"""DeepSeekMath-V2 rewards for the verifier, the meta-verifier and the generator.

The formulas (Shao et al., 2025, DeepSeekMath-V2, sec. 2):
- verifier:      R = R_format · R_score · R_meta,   R_score = 1 − |s′ − s|
- meta-verifier: R = R_format · (1 − |ms′ − ms|)
- generator:     R = R_format · (α·R_proof + β·R_self),   α = 0.76, β = 0.24
                 R_proof = mean verifier score of the proof over V verifications
                 R_self  = (1 − |self score − R_proof|) · R_meta
R_format is `prover.parse.format_reward` (the foundation's parser, the only copy). R_meta is the
mean meta-verifier score of the analysis being rewarded (the verifier's analysis, or the
generator's self evaluation), 1 when no meta-verifier is used. A verifier analysis that finds
no issue (score 1) has no issues for a meta-verifier to check: its R_meta is 1 (the same rule
as `prover.jobs.meta_jobs`, which only meta-verifies issue-finding analyses).

A `Judge` may be given a `faithful(problem, proof, verification)` check (the toy world's
quote check): a verification that credits a proof and fails it scores 0.

The reward *functions* are TRL batch functions `f(completions, **columns) -> list[float|None]`.
A completion whose format fails gets 0 (the policy wrote it); None means the *judge* could not
score it (no readable verification of a well-formed proof): TRL leaves it out of the group.

This module does NOT train, choose models, or build prompts beyond the project's templates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from prover.backends.base import Backend, Sampling, user_chat
from prover.parse import format_reward, parse_generation, parse_verdict
from prover.prompts import Templates
from prover.runrecords import ISSUE_SCORES
from verifier_train.rewards import completion_text

ALPHA, BETA = 0.76, 0.24


# --- The formulas (pure) --------------------------------------------------------------------


def score_reward(predicted: float | None, target: float) -> float:
    """R_score = 1 − |s′ − s|; an unreadable prediction gets 0."""
    return 0.0 if predicted is None else 1.0 - abs(predicted - target)


def verifier_reward_value(r_format: float, predicted: float | None, target: float,
                          r_meta: float = 1.0) -> float:  # fmt: skip
    """R_format · R_score · R_meta for one verification."""
    return r_format * score_reward(predicted, target) * r_meta


def generator_reward_value(
    r_format: float,
    r_proof: float | None,
    self_score: float | None,
    r_meta: float = 1.0,
    alpha: float = ALPHA,
    beta: float = BETA,
) -> float | None:
    """R_format · (α·R_proof + β·R_self); None when the proof could not be verified."""
    if r_format == 0.0:
        return 0.0
    if r_proof is None:
        return None
    r_self = (1.0 - abs(self_score - r_proof)) * r_meta if self_score is not None else 0.0
    return r_format * (alpha * r_proof + beta * r_self)


def mean_score(
    texts: Sequence[str],
    finish: Sequence[str | None] | None = None,
    faithful: Callable[[str], bool] | None = None,
) -> float | None:
    """The mean of the readable boxed scores of some verifications; None if none is readable.
    With `faithful`, a verification that credits the proof (score > 0) but fails it scores 0:
    its verdict rests on work that is not the proof's."""
    finish = finish or [None] * len(texts)
    scores = [parse_verdict(t, f).score for t, f in zip(texts, finish, strict=True)]
    if faithful is not None:
        scores = [0.0 if s and not faithful(t) else s for s, t in zip(scores, texts, strict=True)]
    readable = [s for s in scores if s is not None]
    return sum(readable) / len(readable) if readable else None


# --- Judges behind any backend ---------------------------------------------------------------


@dataclass(frozen=True)
class JudgeConfig:
    """How a judge (verifier or meta-verifier) is sampled for rewards."""

    samples: int = 4
    temperature: float = 1.0
    max_tokens: int = 2048
    # With a `faithful` check (`Judge`): a proof none of whose verifications passes it, whether
    # they credit it or find an issue, is verified again, `retries` samples at
    # `retry_temperature`, and the faithful ones among them score it. An issue raised on a line
    # the analysis misquoted is no more the proof's than a pass is. With none faithful, the
    # first verifications score it as without retries (crediting ones 0).
    retries: int = 0
    retry_temperature: float = 0.6


class ProofJudge(Protocol):
    """What the generator's reward asks of its judge: R_proof of each (problem, proof), None
    where it could not score one (`Judge`, or the toy world's exact `ExactJudge`)."""

    def verify(self, pairs: Sequence[tuple[str, str]]) -> list[float | None]: ...


class Judge:
    """Verifies proofs or meta-verifies analyses through any backend, in one call per batch.

    `faithful(problem, proof, verification)`, when given, is a check that a verification's
    work is the proof's own (the toy world's `quotes_faithfully`): a verification that
    credits a proof and fails it scores 0 (`mean_score`). `unfaithful` counts those; with
    `config.retries`, see `JudgeConfig` (`retried` proofs verified again, `rescued` those
    with a faithful retry)."""

    def __init__(
        self,
        backend: Backend,
        templates: Templates,
        config: JudgeConfig = JudgeConfig(),
        faithful: Callable[[str, str, str], bool] | None = None,
    ):
        self.backend, self.templates, self.config = backend, templates, config
        self.sampling = Sampling(config.temperature, max_tokens=config.max_tokens)
        self.faithful = faithful
        self.asked = self.generated = 0  # prompts judged, and those sent to the backend
        self.unfaithful = 0  # crediting verifications that failed `faithful`, scored 0
        self.retried = self.rescued = 0

    def _check(self, pair: tuple[str, str]) -> Callable[[str], bool]:
        def check(text: str) -> bool:
            ok = self.faithful(*pair, text)
            self.unfaithful += not ok
            return ok

        return check

    def _mean_scores(self, prompts: list[str], pairs: Sequence[tuple[str, str]] = ()):
        # A greedy judge gives a prompt the same answer every time (up to a batch's padding
        # rounding), so a prompt asked twice (a GRPO group's identical proofs) is generated
        # once; a sampled judge draws afresh for each.
        sent = list(dict.fromkeys(prompts)) if self.config.temperature == 0 else prompts
        self.asked, self.generated = self.asked + len(prompts), self.generated + len(sent)
        if not sent:
            return []
        pair_of = dict(zip(prompts, pairs, strict=True)) if pairs and self.faithful else {}
        chats = [user_chat(p) for p in sent]
        outs = self.backend.generate(chats, self.config.samples, self.sampling)
        scores = [
            mean_score([c.text for c in cs], [c.finish_reason for c in cs],
                       self._check(pair_of[p]) if p in pair_of else None)
            for p, cs in zip(sent, outs, strict=True)
        ]  # fmt: skip
        if self.config.retries and pair_of:
            scores = self._retry(sent, outs, scores, pair_of)
        if sent is prompts:
            return scores
        by_prompt = dict(zip(sent, scores, strict=True))
        return [by_prompt[p] for p in prompts]

    def _retry(self, sent: list[str], outs: list, scores: list, pair_of: dict) -> list:
        """`scores` with each prompt none of whose verifications is faithful scored by its
        faithful retries, where it has any (one backend call for all of them)."""
        faithful = self.faithful

        def none_faithful(p: str, cs: list) -> bool:
            return not any(faithful(*pair_of[p], c.text) for c in cs)

        again = [
            k for k, (p, cs) in enumerate(zip(sent, outs, strict=True)) if none_faithful(p, cs)
        ]
        if not again:
            return scores
        sampling = Sampling(self.config.retry_temperature, max_tokens=self.config.max_tokens)
        chats = [user_chat(sent[k]) for k in again]
        redone = self.backend.generate(chats, self.config.retries, sampling)
        scores, self.retried = list(scores), self.retried + len(again)
        for k, cs in zip(again, redone, strict=True):
            kept = [c for c in cs if faithful(*pair_of[sent[k]], c.text)]
            score = mean_score([c.text for c in kept], [c.finish_reason for c in kept])
            if score is not None:
                scores[k], self.rescued = score, self.rescued + 1
        return scores

    def verify(self, pairs: Sequence[tuple[str, str]]) -> list[float | None]:
        """R_proof of each (problem, proof): the mean readable verifier score."""
        prompts = [self.templates.verification(p, s) for p, s in pairs]
        return self._mean_scores(prompts, pairs)

    def meta(self, triples: Sequence[tuple[str, str, str]]) -> list[float | None]:
        """R_meta of each (problem, proof, analysis): the mean readable meta score."""
        return self._mean_scores([self.templates.meta(p, s, a) for p, s, a in triples])


def _meta_or_one(judge: Judge | None, triples: list[tuple[str, str, str]], needed: list[bool]):
    """R_meta per triple: the meta judge's mean score where `needed`, else 1."""
    out: list[float | None] = [1.0] * len(triples)
    if judge is None:
        return out
    asked = [k for k, need in enumerate(needed) if need]
    for k, value in zip(asked, judge.meta([triples[k] for k in asked]), strict=True):
        out[k] = value
    return out


# --- TRL reward functions -----------------------------------------------------------------


def verifier_reward(meta: Judge | None = None):
    """The verifier's reward function over columns `problem`, `proof` and `score` (expert)."""

    def verifier_reward(completions, problem, proof, score, **_: Any) -> list[float | None]:
        texts = [completion_text(c) for c in completions]
        verdicts = [parse_verdict(t) for t in texts]
        formats = [format_reward(t, "verification") for t in texts]
        triples = [(p, s, v.analysis) for p, s, v in zip(problem, proof, verdicts, strict=True)]
        needs = [f > 0 and v.score in ISSUE_SCORES for f, v in zip(formats, verdicts, strict=True)]
        metas = _meta_or_one(meta, triples, needs)
        return [
            None if r_meta is None else verifier_reward_value(f, v.score, float(target), r_meta)
            for f, v, target, r_meta in zip(formats, verdicts, score, metas, strict=True)
        ]

    return verifier_reward


def meta_verifier_reward(completions, meta_score, **_: Any) -> list[float | None]:
    """The meta-verifier's reward over the `meta_score` column: R_format · R_score."""
    texts = [completion_text(c) for c in completions]
    return [
        format_reward(t, "meta") * score_reward(parse_verdict(t).score, float(target))
        for t, target in zip(texts, meta_score, strict=True)
    ]


def generator_reward(verifier: ProofJudge, meta: Judge | None = None, alpha: float = ALPHA,
                     beta: float = BETA):  # fmt: skip
    """The generator's reward function over the `problem` column, judged by `verifier`."""

    def generator_reward(completions, problem, **_: Any) -> list[float | None]:
        parsed = [parse_generation(completion_text(c)) for c in completions]
        formats = [format_reward(completion_text(c), "generation") for c in completions]
        ok = [k for k, f in enumerate(formats) if f > 0]
        proofs = verifier.verify([(problem[k], parsed[k].solution) for k in ok])
        r_proof: list[float | None] = [None] * len(parsed)
        for k, value in zip(ok, proofs, strict=True):
            r_proof[k] = value
        pairs = zip(problem, parsed, strict=True)
        triples = [(p, g.solution, g.self_evaluation or "") for p, g in pairs]
        metas = _meta_or_one(meta, triples, [k in ok for k in range(len(parsed))])
        return [
            None if m is None and f > 0 else generator_reward_value(
                f, rp, g.self_score, m or 0.0, alpha, beta)
            for f, rp, g, m in zip(formats, r_proof, parsed, metas, strict=True)
        ]  # fmt: skip

    return generator_reward
