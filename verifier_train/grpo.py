"""GRPO with DeepSeekMath's defaults on TRL, plus process supervision (which TRL lacks).

`GRPORecipe` holds the paper's numbers (G 64, beta 0.04, loss "grpo", clip 0.2, lr 1e-6, max
length 1024, group-normalized rewards) and maps them onto `trl.GRPOConfig`. `build_trainer`
returns a `ProcessGRPOTrainer`, a small `trl.GRPOTrainer` subclass. With only outcome reward
functions it is a stock GRPO step. A reward function marked with `@process_reward` returns, per
completion, a list of `(end_token_index, reward)` steps (or None); these step rewards are
normalized over the group (mean and std of all step rewards of the group's completions) and
each token's advantage is the sum of the normalized rewards of the steps ending at or after it
(DeepSeekMath section 4.1.3). These per-token advantages, shape (B, T), are added to TRL's
per-sequence outcome advantages before the loss, which accepts (B, T) as it is.

Reward functions are guarded: one that raises or returns the wrong count stops the run with a
one-line `RewardError` naming it; NaN/inf rewards become None (unscorable, left out of the
group baseline by TRL) and their share is logged as `rewards/<name>/unscorable_frac`.

`train_grpo(GRPORun)` is the `prover train grpo` stage in one call: the recipe, the questions
(prompts that do not fit are skipped and counted), the reward functions, the held-out
evaluation, a resumable run and the saved model; the tokenizer is loaded once.

This module does NOT: generate with vLLM itself (TRL does, with `use_vllm` and `vllm_mode`),
train reward models, run iterative RL rounds, parse command lines, or evaluate maj@k/pass@k
(see `verifier_train.train_metrics`). Process reward functions must be synchronous.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch

from prover.errors import InputError, ProverError
from verifier_train.trainer_io import Log, StageRun, Trained, load_stage, train_and_save, trained

Step = tuple[int, float]
StepRewards = Sequence[Step] | None
RewardFunc = Callable[..., list]
PROCESS_ATTR = "is_process_reward"
STD_EPS = 1e-4  # as TRL's group normalization


@dataclass(frozen=True)
class GRPORecipe:
    """DeepSeekMath's GRPO settings (paper: batch 1024 = 16 questions x G 64 on one node)."""

    num_generations: int = 64
    beta: float = 0.04
    loss_type: str = "grpo"
    epsilon: float = 0.2
    learning_rate: float = 1e-6
    max_completion_length: int = 1024
    scale_rewards: bool = True
    per_device_train_batch_size: int = 64
    gradient_accumulation_steps: int = 16
    num_iterations: int = 1
    temperature: float = 1.0
    max_steps: int = -1
    num_train_epochs: float = 1.0
    logging_steps: int = 1
    save_steps: int = 500
    seed: int = 0
    use_cpu: bool = False
    bf16: bool = False
    activation_checkpointing: bool = False  # TRL turns it on by default; off for CPU runs
    use_vllm: bool = False
    # "colocate": vLLM shares each training GPU; "server": a separate `trl vllm-serve`.
    vllm_mode: str = "colocate"
    vllm_gpu_memory_utilization: float = 0.3
    # The colocated engine's context; None takes the model's own, which may be shorter than
    # max_prompt_length + max_completion_length (checked when the recipe is built).
    vllm_max_model_length: int | None = None
    vllm_server_base_url: str | None = None
    report_to: tuple[str, ...] = ()
    # Not GRPOConfig fields: prompts longer than this are skipped (and counted) before training,
    # since TRL 1.x no longer truncates prompts; lora_r > 0 trains LoRA adapters (peft).
    max_prompt_length: int = 1024
    lora_r: int = 0
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")
    # Each generation call draws from torch's stream reseeded from (seed, step, call): two runs
    # from one start then sample with the same random numbers at every step (common random
    # numbers), not only until a completion's length or a reward's draws first shift the
    # stream. Each run alone is as random as a seeded TRL run. transformers generation only
    # (vLLM samples with its own seeds).
    reseed_generation: bool = False


LOCAL_FIELDS = (
    "max_prompt_length",
    "lora_r",
    "lora_alpha",
    "lora_dropout",
    "lora_target_modules",
    "reseed_generation",
)


def check_context(recipe: GRPORecipe) -> None:
    """A prompt and its completion must fit the vLLM engine's context, when one is set: an
    InputError (one line) when a recipe asks for more than it holds."""
    need = recipe.max_prompt_length + recipe.max_completion_length
    limit = recipe.vllm_max_model_length
    if recipe.use_vllm and limit is not None and need > limit:
        raise InputError(
            f"max_prompt_length {recipe.max_prompt_length} + max_completion_length "
            f"{recipe.max_completion_length} = {need} tokens do not fit vllm_max_model_length "
            f"{limit}; shorten them or raise the engine's context"
        )


def to_grpo_config(recipe: GRPORecipe, output_dir: Path | str, **overrides: Any):
    """The `trl.GRPOConfig` for `recipe`; `overrides` are passed through to GRPOConfig."""
    from trl import GRPOConfig

    from verifier_train.train_args import build_args

    check_context(recipe)
    fields = {k: v for k, v in asdict(recipe).items() if k not in LOCAL_FIELDS}
    fields["scale_rewards"] = "group" if recipe.scale_rewards else "none"
    fields["report_to"] = list(recipe.report_to) or "none"
    return build_args(GRPOConfig, output_dir, {**fields, **overrides})


def lora_config(recipe: GRPORecipe):
    """The peft `LoraConfig` when the recipe asks for LoRA (`lora_r > 0`), else None."""
    if recipe.lora_r <= 0:
        return None
    from prover.errors import require

    peft = require("peft", "train")
    return peft.LoraConfig(
        r=recipe.lora_r,
        lora_alpha=recipe.lora_alpha,
        lora_dropout=recipe.lora_dropout,
        target_modules=list(recipe.lora_target_modules),
        task_type="CAUSAL_LM",
    )


def process_reward(func: RewardFunc) -> RewardFunc:
    """Mark `func` as a process reward: it returns per completion a list of
    `(end_token_index, reward)` steps (token indices into the completion), or None."""
    setattr(func, PROCESS_ATTR, True)
    return func


def is_process_reward(func: object) -> bool:
    """Whether `func` was marked with `@process_reward`."""
    return bool(getattr(func, PROCESS_ATTR, False))


class RewardError(ProverError):
    """A reward function raised or returned the wrong number of rewards: the run stops with
    one line naming it (it resumes from the last checkpoint once the function is fixed)."""


def checked_rewards(name: str, rewards: Any, count: int) -> list[float | None]:
    """`rewards` as a list of `count` floats or None; NaN and inf become None (unscorable)."""
    if rewards is None or len(rewards) != count:
        got = "None" if rewards is None else f"{len(rewards)} rewards"
        raise RewardError(f"reward function {name!r} returned {got} for {count} completions")
    out: list[float | None] = []
    for value in rewards:
        number = None if value is None else float(value)
        out.append(number if number is not None and math.isfinite(number) else None)
    return out


def call_reward(name: str, func: RewardFunc, kwargs: dict[str, Any]) -> Any:
    """`func(**kwargs)`; an exception becomes a one-line `RewardError` (chained for debugging)."""
    try:
        return func(**kwargs)
    except Exception as exc:  # any bug in user code: stop, naming the function
        raise RewardError(f"reward function {name!r} raised {type(exc).__name__}: {exc}") from exc


def trl_prompt(tokenizer: Any, chat: list[dict[str, str]]) -> list[dict[str, str]] | str:
    """A prompt TRL will render exactly as `prover.backends.base.encode_prompt` does: the chat
    itself when the tokenizer has a chat template (TRL applies it), else the DeepSeekMath
    `User: ...\n\nAssistant:` text (TRL adds BOS to plain text, as `encode_prompt` does)."""
    from prover.backends.base import deepseek_math_chat

    if getattr(tokenizer, "chat_template", None):
        return chat
    return deepseek_math_chat(chat)


def fit_prompts(rows: Sequence[dict], tokenizer: Any, max_length: int) -> tuple[list[dict], int]:
    """(the rows whose prompt fits in `max_length` tokens, how many were dropped): TRL 1.x
    does not truncate prompts, and a cut prompt would train on a question nobody asked."""
    from prover.backends.base import encode_prompt

    kept = [r for r in rows if len(encode_prompt(tokenizer, r["prompt"])) <= max_length]
    return kept, len(rows) - len(kept)


# --- Process supervision: pure functions ----------------------------------------------------


def _finite_steps(steps: StepRewards) -> list[Step]:
    """The steps with a finite reward (NaN/inf steps are dropped as unscorable)."""
    if steps is None:
        return []
    out = []
    for end, reward in steps:
        if int(end) < 0:
            raise ValueError(f"step end_token_index must be >= 0, got {end}")
        if math.isfinite(float(reward)):
            out.append((int(end), float(reward)))
    return out


def normalize_step_rewards(
    step_rewards: Sequence[StepRewards], group_size: int, scale: bool = True
) -> list[list[Step]]:
    """Each step reward minus the mean (and over the std, when `scale`) of all step rewards in
    its group of `group_size` consecutive completions. The std is unbiased, as TRL's."""
    if group_size < 1 or len(step_rewards) % group_size:
        raise ValueError(
            f"{len(step_rewards)} completions do not split into groups of {group_size}"
        )
    cleaned = [_finite_steps(s) for s in step_rewards]
    out: list[list[Step]] = []
    for start in range(0, len(cleaned), group_size):
        group = cleaned[start : start + group_size]
        values = torch.tensor([r for steps in group for _, r in steps], dtype=torch.float64)
        mean = values.mean().item() if values.numel() else 0.0
        std = values.std().item() if values.numel() > 1 else 0.0
        denom = std + STD_EPS if scale else 1.0
        out += [[(end, (r - mean) / denom) for end, r in steps] for steps in group]
    return out


def _suffix_advantage(steps: Sequence[Step], length: int, width: int) -> torch.Tensor:
    """Per-token sum of the rewards of steps ending at or after each token; a step ending past
    the completion counts as ending on its last token; padding stays 0."""
    row = torch.zeros(width, dtype=torch.float32)
    if length == 0:
        return row
    for end, reward in steps:
        row[: min(end, length - 1) + 1] += reward
    return row


def process_advantages(
    step_rewards: Sequence[StepRewards],
    token_lengths: Sequence[int],
    group_size: int | None = None,
    scale: bool = True,
) -> torch.Tensor:
    """Per-token advantages (B, max length) for process supervision: step rewards normalized
    over each group (default: the whole batch is one group), then summed from each token on."""
    if len(step_rewards) != len(token_lengths):
        raise ValueError(f"{len(step_rewards)} step lists but {len(token_lengths)} lengths")
    normed = normalize_step_rewards(step_rewards, group_size or len(step_rewards), scale)
    width = max(token_lengths, default=0)
    rows = [_suffix_advantage(s, n, width) for s, n in zip(normed, token_lengths, strict=True)]
    return torch.stack(rows) if rows else torch.zeros(0, 0)


def fit_width(advantages: torch.Tensor, width: int) -> torch.Tensor:
    """`advantages` cropped or zero-padded on the right to `width` columns."""
    if advantages.shape[1] >= width:
        return advantages[:, :width]
    return torch.nn.functional.pad(advantages, (0, width - advantages.shape[1]))


def checked_steps(name: str, result: Any, count: int) -> list[StepRewards]:
    """A process function's result: one step list (or None) per completion."""
    if result is None or len(result) != count:
        got = "None" if result is None else f"{len(result)} step lists"
        raise RewardError(f"process reward {name!r} returned {got} for {count} completions")
    return list(result)


def _is_model(func: object) -> bool:
    """TRL also accepts reward models (modules); those are not wrapped."""
    return isinstance(func, torch.nn.Module)


def step_summary(steps: StepRewards) -> float | None:
    """The scalar TRL logs for a process reward: the sum of its finite step rewards."""
    finite = _finite_steps(steps)
    return sum(r for _, r in finite) if finite else None


# --- The trainer hook -----------------------------------------------------------------------


@functools.cache
def _make_trainer_class() -> type:
    """`ProcessGRPOTrainer`, defined lazily so that importing this module needs no TRL."""
    from trl import GRPOTrainer
    from trl.trainer.utils import get_callable_name

    class ProcessGRPOTrainer(GRPOTrainer):
        """GRPOTrainer whose `@process_reward` functions give per-token advantages.

        Each process function is wrapped: TRL calls the wrapper, which keeps the step rewards
        and hands TRL their sum (logged as `rewards/<name>/mean`; its weight in TRL's
        per-sequence advantage is set to 0). After TRL has built the batch, the kept step
        rewards are gathered across ranks, turned into (B, T) advantages, times the function's
        reward weight, and added to TRL's outcome advantages (B,) -> (B, T).
        """

        def __init__(self, *args: Any, reward_funcs: RewardFunc | list, **kwargs: Any):
            funcs = reward_funcs if isinstance(reward_funcs, list) else [reward_funcs]
            self._kept_steps: dict[str, list[StepRewards]] = {}
            self._process_names = [get_callable_name(f) for f in funcs if is_process_reward(f)]
            wrapped = [self._wrap(f) if callable(f) and not _is_model(f) else f for f in funcs]
            super().__init__(*args, reward_funcs=wrapped, **kwargs)
            index = [i for i, f in enumerate(funcs) if is_process_reward(f)]
            self._process_weights = self.reward_weights[index].tolist()
            self.reward_weights[index] = 0.0
            self.last_advantage_shape: tuple[int, ...] | None = None
            self.reseed_generation = False  # set from the recipe by `build_trainer`
            self._calls_at: tuple[int, int] = (-1, 0)  # (optimizer step, calls made in it)

        def _count_unscorable(self, name: str, rewards: list) -> None:
            mode = "train" if self.model.training else "eval"
            frac = sum(r is None for r in rewards) / max(len(rewards), 1)
            self._metrics[mode][f"rewards/{name}/unscorable_frac"].append(frac)

        def _wrap(self, func: RewardFunc) -> RewardFunc:
            """What TRL calls instead of `func`: errors name the function, NaN becomes None
            and is counted; a process function's steps are kept and TRL gets their sum."""
            name = get_callable_name(func)
            process = is_process_reward(func)

            def wrapped(**kwargs: Any) -> list[float | None]:
                result = call_reward(name, func, kwargs)
                count = len(kwargs["completions"])
                if not process:
                    rewards = checked_rewards(name, result, count)
                else:
                    steps = checked_steps(name, result, count)
                    self._kept_steps[name] = steps
                    rewards = [step_summary(s) for s in steps]
                self._count_unscorable(name, rewards)
                return rewards

            wrapped.__name__ = name
            return wrapped

        def _process_token_advantages(self, output: dict[str, Any]) -> torch.Tensor:
            """Local (B, T) process advantages, weighted and summed over process functions."""
            from accelerate.utils import gather_object

            mask = output["completion_mask"]
            lengths = gather_object(mask.sum(1).tolist())
            group = self.num_generations if self.model.training else self.num_generations_eval
            rank, local = self.accelerator.process_index, mask.shape[0]
            total = torch.zeros(mask.shape, dtype=torch.float32)
            for name, weight in zip(self._process_names, self._process_weights, strict=True):
                steps = gather_object(self._kept_steps.pop(name))
                adv = process_advantages(steps, lengths, group, self.scale_rewards != "none")
                total += weight * fit_width(adv[rank * local : (rank + 1) * local], mask.shape[1])
            return total.to(mask.device)

        def _reseed(self) -> None:
            """Reseed torch's stream for this generation call (`reseed_generation`)."""
            step, calls = self._calls_at
            step_now = self.state.global_step
            calls = calls + 1 if step == step_now else 0
            self._calls_at = (step_now, calls)
            torch.manual_seed(generation_seed(self.args.seed, step_now, calls, self.model.training))

        def _generate_and_score_completions(self, inputs: list[dict[str, Any]]) -> dict[str, Any]:
            if self.reseed_generation:
                self._reseed()
            output = super()._generate_and_score_completions(inputs)
            if self._process_names:
                process = self._process_token_advantages(output)
                output["advantages"] = output["advantages"].unsqueeze(1) + process
                mode = "train" if self.model.training else "eval"
                mask = output["completion_mask"].bool()
                abs_mean = process[mask].abs().mean().item() if mask.any() else 0.0
                self._metrics[mode]["process_advantage_abs_mean"].append(abs_mean)
            self.last_advantage_shape = tuple(output["advantages"].shape)
            return output

    return ProcessGRPOTrainer


def build_trainer(
    model_path: Path | str,
    dataset: Any,
    reward_funcs: Sequence[RewardFunc],
    recipe: GRPORecipe | None = None,
    output_dir: Path | str = "grpo-out",
    callbacks: Sequence[Any] = (),
    tokenizer: Any = None,
    **config_overrides: Any,
):
    """A `ProcessGRPOTrainer` for the model at `model_path` on `dataset` (a `datasets.Dataset`
    with a `prompt` column, plus any columns the reward functions read). Every log entry also
    goes to `output_dir/metrics.jsonl`; `callbacks` are added (e.g. `HeldOutEval`). The
    model's tokenizer is loaded unless the caller has it already (`tokenizer`)."""
    from verifier_train.train_metrics import MetricsJSONL

    recipe = recipe or GRPORecipe()
    trainer_class = _make_trainer_class()
    tokenizer = load_tokenizer(model_path) if tokenizer is None else tokenizer
    trainer = trainer_class(
        model=str(model_path),
        reward_funcs=list(reward_funcs),
        args=to_grpo_config(recipe, output_dir, **config_overrides),
        train_dataset=dataset,
        processing_class=tokenizer,
        callbacks=[MetricsJSONL(output_dir), *callbacks],
        peft_config=lora_config(recipe),
    )
    trainer.reseed_generation = recipe.reseed_generation
    return trainer


def generation_seed(seed: int, step: int, call: int, training: bool) -> int:
    """The torch seed of one generation call (`GRPORecipe.reseed_generation`): a pure function
    of the run's seed, the optimizer step, the call's index within it and the mode."""
    return (seed * 1_000_003 + step * 1_009 + call * 2 + (0 if training else 1)) % 2**63


def load_tokenizer(model_path: Path | str) -> Any:
    """The model's tokenizer (loaded once per stage: prompts are fitted and trained with it)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(model_path))


# --- The `prover train grpo` stage ----------------------------------------------------------


@dataclass(frozen=True)
class GRPORun:
    """What `prover train grpo` is asked: the run, the questions (a GSM8K/MATH/CMATH file,
    `champ` or `gym:<generator>[:count[:seed]]`; the first `limit`), the reward functions
    (`verifier_train.rewards.load_reward` specs), and the held-out evaluation."""

    run: StageRun
    data: str
    limit: int | None = None
    rewards: tuple[str, ...] = ("answer",)
    held_out: str | None = None  # questions for maj@k / pass@k at intervals
    eval_every: int = 50
    eval_samples: int = 4


def question_dataset(data: str, limit: int | None, tokenizer: Any, max_prompt: int,
                     log: Log = print):  # fmt: skip
    """Prompt/answer rows of the questions in `data`; prompts longer than `max_prompt` tokens
    are skipped and counted (logged with the bad records)."""
    from datasets import Dataset

    from prover.evaluation.data import load
    from prover.evaluation.tasks import build_prompt

    loaded = load(data, limit)
    rows = [{"prompt": build_prompt(i, "cot"), "answer": i.answer} for i in loaded.items]
    kept, too_long = fit_prompts(rows, tokenizer, max_prompt)
    if loaded.skipped or too_long:
        log(f"skipped {len(loaded.skipped)} bad records and {too_long} prompts over "
            f"{max_prompt} tokens")  # fmt: skip
    if not kept:
        raise InputError(f"no usable questions in {data}")
    return Dataset.from_list(kept)


def held_out_callbacks(config: GRPORun, stage: GRPORecipe) -> list:
    """A `HeldOutEval` on the held-out questions, sampling as the policy is trained to."""
    if config.held_out is None:
        return []
    from prover.evaluation.data import load
    from verifier_train.train_metrics import HeldOutConfig, HeldOutEval

    held = HeldOutConfig(config.eval_every, config.eval_samples, stage.max_completion_length,
                         stage.temperature)  # fmt: skip
    return [HeldOutEval(load(config.held_out).items, held)]


def train_grpo(config: GRPORun, log: Log = print) -> Trained:
    """GRPO of the run's model on the questions with the reward functions into `out/final`,
    resuming from the last checkpoint in `out`."""
    from verifier_train.rewards import load_reward

    stage, policy = load_stage(config.run, "grpo", GRPORecipe)
    funcs = [load_reward(spec) for spec in config.rewards]
    tokenizer = load_tokenizer(policy)
    dataset = question_dataset(config.data, config.limit, tokenizer, stage.max_prompt_length,
                               log)  # fmt: skip
    callbacks = held_out_callbacks(config, stage)
    out = config.run.out
    trainer = build_trainer(policy, dataset, funcs, stage, out, callbacks, tokenizer,
                            **config.run.overrides())  # fmt: skip
    final = train_and_save(trainer, out)
    return trained(
        trainer, final, f"trained {policy} on {len(dataset)} questions; model in {final}"
    )
