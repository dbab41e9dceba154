"""The DeepSeekMath-V2 stages on GRPO, shared by `prover train verifier|meta-verifier|
generator` and the `prover iterate` driver: data rows -> prompts that fit -> GRPO trainer
with the stage's reward, the metrics log and the judge-hacking probes (`verifier_trainer`,
`meta_verifier_trainer`, `generator_trainer`), and each stage in one call from its frozen
config (`train_verifier`, `train_meta_verifier`, `train_generator`): recipe, data files,
judges, trainer, resumable run, saved model. A stage loads its policy's tokenizer once.

This module does NOT parse data records (see `verifier_train.v2.verifier` / `.generator`),
compute rewards (`verifier_train.v2.rewards`), or parse command lines.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.backends.base import Backend, Sampling
from prover.errors import InputError
from prover.prompts import Templates
from verifier_train.grpo import GRPORecipe, load_tokenizer
from verifier_train.trainer_io import Log, StageRun, Trained, load_stage, train_and_save, trained
from verifier_train.v2.generator import generator_rows, read_problems
from verifier_train.v2.rewards import (
    ALPHA,
    BETA,
    Judge,
    JudgeConfig,
    generator_reward,
    meta_verifier_reward,
    verifier_reward,
)
from verifier_train.v2.verifier import (
    joint_reward,
    joint_rows,
    meta_rows,
    read_meta_data,
    read_verifier_data,
    verifier_rows,
)


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


def grpo_trainer(policy: str, rows: list[dict], funcs: list, stage: GRPORecipe, out: Path,
                 callbacks: Sequence = (), tokenizer: Any = None,
                 **overrides: Any) -> tuple[Any, int]:  # fmt: skip
    """(a GRPO trainer over the rows whose prompts fit, how many rows did not fit); the
    policy's tokenizer is loaded unless the caller has it (`tokenizer`)."""
    from datasets import Dataset

    from verifier_train.grpo import build_trainer, fit_prompts

    tokenizer = load_tokenizer(policy) if tokenizer is None else tokenizer
    kept, too_long = fit_prompts(rows, tokenizer, stage.max_prompt_length)
    if not kept:
        raise InputError(f"no prompt fits in max_prompt_length={stage.max_prompt_length}")
    trainer = build_trainer(policy, Dataset.from_list(kept), funcs, stage, out, callbacks,
                            tokenizer, **overrides)  # fmt: skip
    return trainer, too_long


def verifier_trainer(policy: str, data: list[dict], metas: list[dict], stage: GRPORecipe,
                     out: Path, templates: Templates, meta_judge: Judge | None = None,
                     probes: ProbeConfig = ProbeConfig(), **overrides: Any):  # fmt: skip
    """The verifier's GRPO trainer on graded proofs, joint with meta-verification rows when
    `metas` is not empty (one model, both tasks)."""
    if not data:
        raise InputError("no graded proofs to train the verifier on")
    tokenizer = load_tokenizer(policy)
    rows, reward = verifier_rows(data, templates, tokenizer), verifier_reward(meta_judge)
    if metas:
        meta = meta_rows(metas, templates, tokenizer)
        rows, reward = joint_rows(rows, meta), joint_reward(reward)
    callback = probe_callback([d["problem"] for d in data], templates, probes)
    return grpo_trainer(policy, rows, [reward], stage, out, [callback], tokenizer, **overrides)


def meta_verifier_trainer(policy: str, metas: list[dict], stage: GRPORecipe, out: Path,
                          templates: Templates, **overrides: Any):  # fmt: skip
    """The meta-verifier's GRPO trainer on graded analyses."""
    if not metas:
        raise InputError("no graded analyses to train the meta-verifier on")
    tokenizer = load_tokenizer(policy)
    rows = meta_rows(metas, templates, tokenizer)
    return grpo_trainer(policy, rows, [meta_verifier_reward], stage, out, (), tokenizer,
                        **overrides)  # fmt: skip


def generator_trainer(policy: str, problems: list[str], stage: GRPORecipe, out: Path,
                      templates: Templates, verifier: Judge, meta_judge: Judge | None = None,
                      alpha: float = ALPHA, beta: float = BETA,
                      probes: ProbeConfig = ProbeConfig(), **overrides: Any):  # fmt: skip
    """The generator's GRPO trainer, rewarded by `verifier` (and `meta_judge`)."""
    if not problems:
        raise InputError("no problems to train the generator on")
    tokenizer = load_tokenizer(policy)
    rows = generator_rows(problems, templates, tokenizer)
    reward = generator_reward(verifier, meta_judge, alpha, beta)
    callback = probe_callback(problems, templates, probes, verifier.backend)
    return grpo_trainer(policy, rows, [reward], stage, out, [callback], tokenizer, **overrides)


# --- Each stage in one call -----------------------------------------------------------------


@dataclass(frozen=True)
class V2Settings:
    """What the DeepSeekMath-V2 stages share: the prompt templates, how the judges are
    sampled, and how often and how hard the judge-hacking probes run."""

    template_dir: str | None = None
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    probes: ProbeConfig = field(default_factory=ProbeConfig)


@dataclass(frozen=True)
class VerifierRun:
    """What `prover train verifier` is asked: the run, graded proof files, graded analyses to
    learn meta-verification too (one model, both tasks, as the paper), and a meta-verifier
    judge whose score multiplies the reward (None: R_meta is 1)."""

    run: StageRun
    files: tuple[Path, ...]
    meta_data: tuple[Path, ...] = ()
    meta_judge: JudgeSpec | None = None
    settings: V2Settings = field(default_factory=V2Settings)


@dataclass(frozen=True)
class MetaVerifierRun:
    """What `prover train meta-verifier` is asked: the run and graded analysis files."""

    run: StageRun
    files: tuple[Path, ...]
    settings: V2Settings = field(default_factory=V2Settings)


@dataclass(frozen=True)
class GeneratorRun:
    """What `prover train generator` is asked: the run, problem files, the verifier judge
    (and a meta-verifier judge) of the reward, and its weights α and β."""

    run: StageRun
    files: tuple[Path, ...]
    verifier: JudgeSpec
    meta_judge: JudgeSpec | None = None
    alpha: float = ALPHA
    beta: float = BETA
    settings: V2Settings = field(default_factory=V2Settings)


def _log_skipped(skipped: Sequence, log: Log) -> None:
    for reason in skipped[:20]:
        log(f"skipped {reason}")
    if len(skipped) > 20:
        log(f"skipped {len(skipped) - 20} more records")


def _judge(spec: JudgeSpec | None, flag: str, templates: Templates,
           config: JudgeConfig) -> Judge | None:  # fmt: skip
    """The judge named by `--<flag>` (its model is loaded now), or None without one."""
    if spec is None:
        return None
    if spec.backend == "openai" and not spec.base_url:
        raise InputError(f"--{flag}-backend openai needs --{flag}-base-url (the server's /v1 URL)")
    return Judge(spec.build(), templates, config)


def _train(built: tuple[Any, int], out: Path, stage: GRPORecipe, log: Log,
           summary: str) -> Trained:  # fmt: skip
    """Log the prompts that did not fit, train with resume and save; `summary` says what was
    trained."""
    trainer, too_long = built
    if too_long:
        log(f"skipped {too_long} prompts over {stage.max_prompt_length} tokens")
    final = train_and_save(trainer, out)
    return trained(trainer, final, f"{summary}; model in {final}")


def train_verifier(config: VerifierRun, log: Log = print) -> Trained:
    """GRPO of the run's model as the verifier into `out/final`, resuming from the last
    checkpoint in `out`; skipped records and prompts are logged."""
    stage, policy = load_stage(config.run, "verifier", GRPORecipe)
    data, skipped = read_verifier_data(list(config.files))
    metas, meta_skipped = read_meta_data(list(config.meta_data)) if config.meta_data else ([], [])
    _log_skipped(skipped + meta_skipped, log)
    settings, out = config.settings, config.run.out
    templates = Templates.load(settings.template_dir)
    meta_judge = _judge(config.meta_judge, "meta-verifier", templates, settings.judge)
    built = verifier_trainer(policy, data, metas, stage, out, templates, meta_judge,
                             settings.probes, **config.run.overrides())  # fmt: skip
    analyses = f" and {len(metas)} analyses" if metas else ""
    return _train(built, out, stage, log,
                  f"trained the verifier {policy} on {len(data)} proofs{analyses}")  # fmt: skip


def train_meta_verifier(config: MetaVerifierRun, log: Log = print) -> Trained:
    """GRPO of the run's model as the meta-verifier into `out/final`, resuming from the last
    checkpoint in `out`; skipped records and prompts are logged."""
    stage, policy = load_stage(config.run, "meta_verifier", GRPORecipe)
    data, skipped = read_meta_data(list(config.files))
    _log_skipped(skipped, log)
    out = config.run.out
    templates = Templates.load(config.settings.template_dir)
    built = meta_verifier_trainer(policy, data, stage, out, templates, **config.run.overrides())
    return _train(built, out, stage, log,
                  f"trained the meta-verifier {policy} on {len(data)} analyses")  # fmt: skip


def train_generator(config: GeneratorRun, log: Log = print) -> Trained:
    """GRPO of the run's model as the proof generator, rewarded by the verifier judge, into
    `out/final`, resuming from the last checkpoint in `out`; skipped records and prompts are
    logged."""
    stage, policy = load_stage(config.run, "generator", GRPORecipe)
    problems, skipped = read_problems(list(config.files))
    _log_skipped(skipped, log)
    if not problems:
        raise InputError("no problems to train the generator on")
    settings, out = config.settings, config.run.out
    templates = Templates.load(settings.template_dir)
    judge = _judge(config.verifier, "verifier-model", templates, settings.judge)
    meta_judge = _judge(config.meta_judge, "meta-verifier", templates, settings.judge)
    built = generator_trainer(policy, problems, stage, out, templates, judge, meta_judge,
                              config.alpha, config.beta, settings.probes,
                              **config.run.overrides())  # fmt: skip
    return _train(built, out, stage, log,
                  f"trained the generator {policy} on {len(problems)} problems")  # fmt: skip
