"""Trainers for the DeepSeekMath-V2 stages, shared by `prover train verifier|meta-verifier|
generator` and the `prover iterate` driver: data rows -> prompts that fit -> GRPO trainer
with the stage's reward, the metrics log and the judge-hacking probes.

This module does NOT read files (see `verifier_train.v2.verifier` / `.generator`), train
(callers run `trainer.train`), or parse command lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prover.backends.base import Backend, Sampling
from prover.errors import InputError
from prover.prompts import Templates
from verifier_train.v2.rewards import Judge, JudgeConfig


@dataclass(frozen=True)
class JudgeSpec:
    """A judge model behind a backend: in-process `hf`/`vllm`, or an `openai` server."""

    model: str
    backend: str = "hf"
    base_url: str | None = None

    def build(self) -> Backend:
        from prover.backends import make_backend

        options = {"base_url": self.base_url} if self.backend == "openai" else {}
        return make_backend(self.backend, self.model, **options)


def make_judge(spec: JudgeSpec | None, templates: Templates, config: JudgeConfig) -> Judge | None:
    """A `Judge` for `spec`, or None without one."""
    return None if spec is None else Judge(spec.build(), templates, config)


@dataclass(frozen=True)
class ProbeConfig:
    """How often and how hard the judge-hacking probes are run."""

    every: int = 50
    samples: int = 2
    max_tokens: int = 1024
    temperature: float = 1.0
    problems: int = 8  # probes are attached to the first few training problems


def probe_callback(problems: Sequence[str], templates: Templates, config: ProbeConfig,
                   backend: Backend | None = None):  # fmt: skip
    """A `ProbeCallback` on generic non-proofs for the first training problems."""
    from verifier_train.v2.probes import ProbeCallback, probe_pairs

    sampling = Sampling(config.temperature, max_tokens=config.max_tokens)
    pairs = probe_pairs(list(problems[: config.problems]))
    return ProbeCallback(templates, pairs, config.every, backend, config.samples, sampling)


def grpo_trainer(policy: str, rows: list[dict], funcs: list, stage: Any, out: Path,
                 callbacks: Sequence = (), **overrides: Any) -> tuple[Any, int]:  # fmt: skip
    """(a GRPO trainer over the rows whose prompts fit, how many rows did not fit)."""
    from datasets import Dataset
    from transformers import AutoTokenizer

    from verifier_train.grpo import build_trainer, fit_prompts

    kept, too_long = fit_prompts(
        rows, AutoTokenizer.from_pretrained(policy), stage.max_prompt_length
    )
    if not kept:
        raise InputError(f"no prompt fits in max_prompt_length={stage.max_prompt_length}")
    trainer = build_trainer(policy, Dataset.from_list(kept), funcs, stage, out, callbacks,
                            **overrides)  # fmt: skip
    return trainer, too_long


def verifier_trainer(policy: str, data: list[dict], metas: list[dict], stage: Any, out: Path,
                     templates: Templates, meta_judge: Judge | None = None,
                     probes: ProbeConfig = ProbeConfig(), **overrides: Any):  # fmt: skip
    """The verifier's GRPO trainer on graded proofs, joint with meta-verification rows when
    `metas` is not empty (one model, both tasks)."""
    from transformers import AutoTokenizer

    from verifier_train.v2 import verifier as rows_of
    from verifier_train.v2.rewards import verifier_reward

    if not data:
        raise InputError("no graded proofs to train the verifier on")
    tokenizer = AutoTokenizer.from_pretrained(policy)
    rows, reward = rows_of.verifier_rows(data, templates, tokenizer), verifier_reward(meta_judge)
    if metas:
        meta = rows_of.meta_rows(metas, templates, tokenizer)
        rows, reward = rows_of.joint_rows(rows, meta), rows_of.joint_reward(reward)
    callback = probe_callback([d["problem"] for d in data], templates, probes)
    return grpo_trainer(policy, rows, [reward], stage, out, [callback], **overrides)


def meta_verifier_trainer(policy: str, metas: list[dict], stage: Any, out: Path,
                          templates: Templates, **overrides: Any):  # fmt: skip
    """The meta-verifier's GRPO trainer on graded analyses."""
    from transformers import AutoTokenizer

    from verifier_train.v2.rewards import meta_verifier_reward
    from verifier_train.v2.verifier import meta_rows

    if not metas:
        raise InputError("no graded analyses to train the meta-verifier on")
    rows = meta_rows(metas, templates, AutoTokenizer.from_pretrained(policy))
    return grpo_trainer(policy, rows, [meta_verifier_reward], stage, out, **overrides)


def generator_trainer(policy: str, problems: list[str], stage: Any, out: Path,
                      templates: Templates, verifier: Judge, meta_judge: Judge | None = None,
                      alpha: float = 0.76, beta: float = 0.24,
                      probes: ProbeConfig = ProbeConfig(), **overrides: Any):  # fmt: skip
    """The generator's GRPO trainer, rewarded by `verifier` (and `meta_judge`)."""
    from transformers import AutoTokenizer

    from verifier_train.v2.generator import generator_rows
    from verifier_train.v2.rewards import generator_reward

    if not problems:
        raise InputError("no problems to train the generator on")
    rows = generator_rows(problems, templates, AutoTokenizer.from_pretrained(policy))
    reward = generator_reward(verifier, meta_judge, alpha, beta)
    callback = probe_callback(problems, templates, probes, verifier.backend)
    return grpo_trainer(policy, rows, [reward], stage, out, [callback], **overrides)
