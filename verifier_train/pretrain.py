"""Continued pretraining as DeepSeekMath-Base 7B (Shao et al., 2024, sec. 2.3) on TRL.

`PretrainRecipe` holds the paper's numbers: from deepseek-coder-7b-base-v1.5, 500B tokens in
batches of 10M tokens (2 x 1216 sequences of 4096 tokens on one process: 9.96M), AdamW with
beta1 0.9, beta2 0.95 and weight decay 0.1, peak lr 4.2e-4 after 2,000 warmup steps, and the
multi-step schedule: the lr drops to 31.6% of the peak at 80% of training and to 10% at 90%
(`multistep_lr_factor`). Its `mixture` is the data (see `verifier_train.pretrain_data`: token
shares, documents joined by EOS and packed into full blocks of `max_length`). `build_trainer`
returns a `PretrainTrainer`, a `trl.SFTTrainer` that takes the packed blocks as they are
(`skip_prepare_dataset`: the loss falls on every token) and builds the multi-step scheduler
itself (transformers has no such built-in: `warmup_stable_decay` decays smoothly), so the
`lr_scheduler_type` in the saved training args is not used.

Memory for the 7B recipe: `verifier_train.memory` (the same accounting for every stage;
about 24 GiB per GPU on 8 GPUs at micro-batch 2, 114 GiB unsharded: see the recipe).

`train_pretrain(PretrainRun)` is the `prover train pretrain` stage in one call: the recipe,
its mixture with the `--data NAME=PATH` replacements, a resumable run and the saved model.

This module does NOT: read files (see `pretrain_data`), parse command lines, launch processes
(use accelerate/torchrun with the configs in verifier_train/accelerate/), or pre-tokenize the
corpus (blocks are tokenized as training reads them).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from prover.errors import InputError
from verifier_train.pretrain_data import (
    MixtureStats,
    Source,
    normalized_weights,
    parse_mixture,
    pretrain_dataset,
)
from verifier_train.trainer_io import Log, StageRun, Trained, load_stage, train_and_save

FIRST_DROP, SECOND_DROP = 0.316, 0.1  # the paper's lr factors after 80% and 90% of training
NOT_TRAINING_ARGS = ("mixture", "shuffle_buffer")


@dataclass(frozen=True)
class PretrainRecipe:
    """DeepSeekMath-Base 7B continued pretraining. The batch is per_device x accumulation x
    processes sequences of `max_length`: 2 x 1216 on one process; with N processes divide
    `gradient_accumulation_steps` by N (8: 152, 64: 19). 50,200 steps x 9.96M = 500B tokens."""

    max_steps: int = 50_200
    per_device_train_batch_size: int = 2
    gradient_accumulation_steps: int = 1216
    learning_rate: float = 4.2e-4
    warmup_steps: int = 2000
    adam_beta1: float = 0.9
    adam_beta2: float = 0.95
    weight_decay: float = 0.1
    max_grad_norm: float = 1.0  # not given in the paper; the Trainer's default
    max_length: int = 4096
    shuffle_buffer: int = 0  # blocks shuffled in a buffer of this many (0: stream order)
    logging_steps: int = 10
    save_steps: int = 1000
    seed: int = 0
    use_cpu: bool = False
    bf16: bool = True
    activation_checkpointing: bool = True
    report_to: tuple[str, ...] = ()
    mixture: tuple[Source, ...] = ()

    def __post_init__(self) -> None:
        # YAML gives {name: {paths, weight}}; keep the recipe frozen and hashable
        object.__setattr__(self, "mixture", parse_mixture(self.mixture))

    @property
    def tokens_per_step(self) -> int:
        """Tokens per optimizer step on one process (times the number of processes)."""
        sequences = self.per_device_train_batch_size * self.gradient_accumulation_steps
        return sequences * self.max_length


def multistep_lr_factor(step: int, total_steps: int, warmup_steps: int) -> float:
    """The lr multiplier at optimizer step `step` (0-based): linear warmup from 0 over
    `warmup_steps` (as the Trainer's own warmups), then 1 until 80% of `total_steps`, 0.316
    until 90%, then 0.1 (DeepSeekMath's multi-step schedule)."""
    if step < warmup_steps:
        return step / warmup_steps
    if 10 * step < 8 * total_steps:  # integers: no rounding at the boundaries
        return 1.0
    return FIRST_DROP if 10 * step < 9 * total_steps else SECOND_DROP


def to_pretrain_config(recipe: PretrainRecipe, output_dir: Path | str, **overrides: Any):
    """The `trl.SFTConfig` for `recipe`: blocks go in as they are (no TRL packing or
    tokenizing); `overrides` are passed through to SFTConfig."""
    from trl import SFTConfig

    from verifier_train.train_args import build_args

    fields = {k: v for k, v in asdict(recipe).items() if k not in NOT_TRAINING_ARGS}
    fields["report_to"] = list(recipe.report_to) or "none"
    fields["dataset_kwargs"] = {"skip_prepare_dataset": True}
    try:
        return build_args(SFTConfig, output_dir, {**fields, **overrides})
    except ValueError as exc:  # settings this machine cannot run (bf16 on a CPU, ...)
        raise InputError(f"pretrain settings: {str(exc).splitlines()[0]}") from exc


@functools.cache
def _make_trainer_class() -> type:
    """`PretrainTrainer`, defined lazily so that importing this module needs no TRL."""
    from torch.optim.lr_scheduler import LambdaLR
    from trl import SFTTrainer

    class PretrainTrainer(SFTTrainer):
        """SFTTrainer with DeepSeekMath's multi-step lr schedule."""

        def create_scheduler(self, num_training_steps: int, optimizer=None):
            if self.lr_scheduler is None:
                factor = functools.partial(
                    multistep_lr_factor,
                    total_steps=num_training_steps,
                    warmup_steps=self.args.get_warmup_steps(num_training_steps),
                )
                self.lr_scheduler = LambdaLR(optimizer or self.optimizer, factor)
                self._created_lr_scheduler = True  # the Trainer rebuilds it per train()
            return self.lr_scheduler

    return PretrainTrainer


def with_data(recipe: PretrainRecipe, data: Mapping[str, Sequence[str]]) -> PretrainRecipe:
    """`recipe` with the paths of the sources named in `data` replaced; with no mixture in
    the recipe, `data` is the mixture (one source: all of it; several need weights)."""
    if not data:
        return recipe
    if not recipe.mixture:
        if len(data) > 1:
            raise InputError("several --data sources need weights: put a `mixture` in the recipe")
        return replace(recipe, mixture=tuple(Source(n, tuple(p)) for n, p in data.items()))
    known = {s.name for s in recipe.mixture}
    unknown = sorted(set(data) - known)
    if unknown:
        names = ", ".join(sorted(known))
        raise InputError(f"--data {unknown[0]}=...: not a source of the mixture ({names})")
    sources = tuple(
        Source(s.name, tuple(data[s.name]), s.weight) if s.name in data else s
        for s in recipe.mixture
    )
    return replace(recipe, mixture=sources)


def build_trainer(
    model_path: Path | str,
    recipe: PretrainRecipe,
    output_dir: Path | str = "pretrain-out",
    stats: MixtureStats | None = None,
    **overrides: Any,
):
    """A `PretrainTrainer` for the model at `model_path` on the recipe's mixture; bad records
    read are counted in `stats`; `overrides` go to SFTConfig (e.g. `sft.CPU_OVERRIDES`)."""
    from transformers import AutoTokenizer

    from verifier_train.train_metrics import MetricsJSONL

    if not recipe.mixture:
        raise InputError("no pretraining data: give --data NAME=PATH or a `mixture` in the recipe")
    if overrides.get("max_steps", recipe.max_steps) <= 0:
        raise InputError("pretraining streams its data: set max_steps > 0")
    tokenizer = AutoTokenizer.from_pretrained(str(model_path))
    length = overrides.get("max_length", recipe.max_length)
    dataset = pretrain_dataset(  # checks every source first: a bad path fails here
        recipe.mixture, tokenizer, length, stats, recipe.shuffle_buffer, recipe.seed
    )
    config = to_pretrain_config(recipe, output_dir, **overrides)
    return _make_trainer_class()(
        model=str(model_path),
        args=config,
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=[MetricsJSONL(output_dir)],
    )


# --- The `prover train pretrain` stage ------------------------------------------------------


@dataclass(frozen=True)
class PretrainRun:
    """What `prover train pretrain` is asked: the run, and `NAME=PATH` (or a bare PATH, named
    `data`) specs that replace the paths of those sources in the recipe's mixture."""

    run: StageRun
    data: tuple[str, ...] = ()


def parse_data(specs: Sequence[str]) -> dict[str, list[str]]:
    """{source name: paths} from `NAME=PATH` (or a bare PATH, named `data`), repeatable."""
    data: dict[str, list[str]] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        name, path = (name.strip(), path) if sep else ("data", spec)
        if not name or not path:
            raise InputError(f"--data {spec!r}: expected NAME=PATH")
        data.setdefault(name, []).append(path)
    return data


def train_pretrain(config: PretrainRun, log: Log = print) -> Trained:
    """Continued pretraining of the run's model on the mixture into `out/final`, resuming
    from the last checkpoint in `out`; the bad records read are logged when it ends."""
    stage, policy = load_stage(config.run, "pretrain", PretrainRecipe)
    stage = with_data(stage, parse_data(config.data))
    stats = MixtureStats()
    out = config.run.out
    trainer = build_trainer(policy, stage, out, stats, **config.run.overrides())
    final = train_and_save(trainer, out)
    if line := stats.skipped_line():
        log(line)
    shares = zip(stage.mixture, normalized_weights(stage.mixture), strict=True)
    mix = ", ".join(f"{s.name} {w:.0%}" for s, w in shares)
    steps = trainer.state.global_step
    return Trained(final, f"pretrained {policy} for {steps} steps on {mix}; model in {final}")
