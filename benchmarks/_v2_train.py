"""Training and measuring for the DeepSeekMath-V2 learning check: SFT warm-ups, the timing of
GRPO steps (generation, verification, update), and the held-out measurements (verifier
accuracy and MAE, probe false positives, auto-label precision, generator validity).

The stages are the project's: SFT is TRL's `SFTTrainer` with `verifier_train.sft`'s recipe
and config mapping (the rows are built by `_v2_data`, because `sft.to_dataset` writes the V1
instruction prompt), GRPO is `verifier_train.v2.stages`, judging is `v2.rewards.Judge` behind
`prover.backends.hf.HFBackend`, labels are `verifier_train.v2.autolabel`, and the truth is
`verifier_train.v2.toyworld.check_proof`. This module does not choose sizes or print reports.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from _step_timing import step_timer, timed

from prover.backends.base import Sampling, user_chat
from prover.backends.hf import HFBackend
from prover.parse import parse_generation, parse_verdict
from prover.prompts import Templates
from verifier_train.v2 import toy_generator, toy_prover, toy_verifier

QUIET = {"save_strategy": "no", "disable_tqdm": True, "logging_steps": 10**6}
# GRPO logs every step (to metrics.jsonl only: `quiet` removes the printers).
GRPO_QUIET = QUIET | {"logging_steps": 1}
EVAL_BATCH = toy_verifier.EVAL_BATCH  # sequences per `generate` micro-batch


def quiet(trainer: Any) -> Any:
    """The trainer without transformers' per-log printing (the check prints its own)."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    for callback in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(callback)
    return trainer


sft = toy_prover.sft  # SFT as the toy prover is trained (same arguments, same schedule default)


load = toy_verifier.load  # a model on the CPU in EVAL_BATCH micro-batches


# --- Timing GRPO steps ----------------------------------------------------------------------


@dataclass
class Clock:
    """Seconds per optimizer step and, inside them, in generation (TRL's `_generate`),
    verification (the reward functions: judge calls or the exact checker) and probes."""

    step: list[float] = field(default_factory=list)
    generation: list[float] = field(default_factory=list)
    verification: list[float] = field(default_factory=list)
    probes: list[float] = field(default_factory=list)
    started: float = 0.0

    def totals(self) -> dict[str, float]:
        """Total seconds of each part; update is the step time minus the other three."""
        parts = {k: sum(getattr(self, k)) for k in ("generation", "verification", "probes")}
        return parts | {"update": sum(self.step) - sum(parts.values()), "step": sum(self.step)}


def probe_callbacks_of(trainer: Any) -> list:
    from verifier_train.v2.probes import ProbeCallback

    return [c for c in trainer.callback_handler.callbacks if isinstance(c, ProbeCallback)]


def instrument(trainer: Any, clock: Clock) -> Clock:
    """Time the trainer's generation, reward functions (all of them, in TRL's
    `_calculate_rewards`), probe callbacks and steps. The step timer goes first among the
    callbacks, so that a probe run at a step's end falls outside the step."""
    trainer._generate = timed(clock, "generation", trainer._generate)
    trainer._calculate_rewards = timed(clock, "verification", trainer._calculate_rewards)
    for callback in probe_callbacks_of(trainer):
        callback._report = timed(clock, "probes", callback._report)
    trainer.callback_handler.callbacks.insert(0, step_timer(clock))
    quiet(trainer)
    return clock


# --- Measurements ---------------------------------------------------------------------------


# Greedy verifier accuracy by kind: the toy verifier's own measurement.
VerifierScores, verifier_scores = toy_verifier.VerifierScores, toy_verifier.verifier_scores
_share_by = toy_verifier.share_by


@dataclass(frozen=True)
class Confirmations:
    """Which of a model's own issue-finding analyses it confirms when it meta-verifies them
    (meta score `autolabel.CONFIRM`, what auto-labelling counts), split by whether the
    analysis's score is the exact label."""

    right: float | None  # share confirmed of the right analyses (None: there were none)
    wrong: float | None  # the same of the wrong ones
    counts: tuple[int, int]  # (right, wrong) issue-finding analyses


@dataclass(frozen=True)
class MetaScores:
    """Greedy meta-verification of held-out meta records, and of the model's own analyses."""

    accuracy: float  # the boxed meta score equals the exact one
    by_variant: dict[str, float]  # faithful, wrong_score, invented, missed
    own: Confirmations


def _meta_greedy(backend: HFBackend, templates: Templates, triples: Sequence[tuple[str, ...]],
                 max_tokens: int) -> list[float | None]:  # fmt: skip
    """The greedy boxed score of each (problem, proof, analysis) meta-verification."""
    prompts = [user_chat(templates.meta(*t)) for t in triples]
    outs = backend.generate(prompts, 1, Sampling(temperature=0, max_tokens=max_tokens))
    return [parse_verdict(o[0].text, o[0].finish_reason).score for o in outs]


def confirmations(backend: HFBackend, templates: Templates, rows: Sequence[dict],
                  verified: VerifierScores, max_tokens: int) -> Confirmations:  # fmt: skip
    """Meta-verify the issue-finding analyses among `verified.analyses` (of `rows`)."""
    from prover.runrecords import ISSUE_SCORES
    from verifier_train.v2.autolabel import CONFIRM

    verdicts = [(r, parse_verdict(text)) for r, text in zip(rows, verified.analyses, strict=True)]
    found = [
        (r, v.analysis, v.score == float(r["score"]))
        for r, v in verdicts
        if v.score in ISSUE_SCORES  # what `prover.jobs.meta_jobs` meta-verifies
    ]
    votes = _meta_greedy(backend, templates, [(r["problem"], r["proof"], text)
                                              for r, text, _ in found], max_tokens)  # fmt: skip
    split = {
        ok: [v == CONFIRM for v, (_, _, was) in zip(votes, found, strict=True) if was == ok]
        for ok in (True, False)
    }
    rate = {ok: statistics.mean(x) if x else None for ok, x in split.items()}
    return Confirmations(rate[True], rate[False], (len(split[True]), len(split[False])))


def meta_scores(
    backend: HFBackend, templates: Templates, metas: Sequence[dict], rows: Sequence[dict],
    verified: VerifierScores, max_tokens: int,
) -> MetaScores:  # fmt: skip
    """Meta accuracy on held-out `metas` by variant, and `confirmations` of `rows`."""
    got = _meta_greedy(backend, templates, [(m["problem"], m["proof"], m["analysis"])
                                            for m in metas], max_tokens)  # fmt: skip
    right = [g == float(m["meta_score"]) for g, m in zip(got, metas, strict=True)]
    by_variant = _share_by(right, metas, "variant")
    own = confirmations(backend, templates, rows, verified, max_tokens)
    return MetaScores(statistics.mean(right) if right else 0.0, by_variant, own)


# True validity of a policy's proofs: the toy generator's own measurement.
Validity, validity = toy_generator.Validity, toy_generator.validity


def judged_mean(judge: Any, proofs: Sequence[tuple[str, str]]) -> float | None:
    """The judge's mean score of generator completions, as the generator reward reads them
    (the `## Solution` part); a completion with no readable verification counts as 0. None
    with no judge or no proofs."""
    if judge is None:
        return None
    pairs = [(p, parse_generation(text).solution) for p, text in proofs]
    scores = judge.verify(pairs)
    return sum(s or 0.0 for s in scores) / len(scores) if scores else None
