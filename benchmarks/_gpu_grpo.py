"""GRPO step timing for `gpu_check.py`: a few steps of the project's GRPO stage
(`verifier_train.grpo.build_trainer`, DeepSeekMath's objective: beta 0.04, loss "grpo") on a
model folder, each step split into generation (TRL's `_generate`), reward, the rest of
scoring (old and reference log-probabilities, advantages) and the update (loss, backward,
optimizer), with the device synchronized at every boundary. On a GPU it also reports the
peak allocated memory beside `verifier_train.memory.estimate` for the same shape and run.

This module does NOT generate with vLLM, learn anything (random models, a cheap reward), or
run on more than one device.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _gpu_models import Arch
from _step_timing import step_timer, timed

from prover.backends.base import user_chat
from verifier_train.grpo import GRPORecipe, build_trainer
from verifier_train.memory import RunShape, estimate
from verifier_train.rewards import completion_text

GIB = 1024**3
QUIET = {"save_strategy": "no", "disable_tqdm": True}


@dataclass(frozen=True)
class GRPOSizes:
    """One prompt's group per step: `generations` completions of `completion_tokens`."""

    generations: int
    prompt_tokens: int
    completion_tokens: int
    steps: int


@dataclass
class Clock:
    """Seconds per step and per timed part (see `_step_timing`)."""

    step: list[float] = field(default_factory=list)
    generation: list[float] = field(default_factory=list)
    reward: list[float] = field(default_factory=list)
    scoring: list[float] = field(default_factory=list)
    started: float = 0.0


def distinct_chars(completions: list, **_: Any) -> list[float]:
    """A cheap reward with spread: the share of distinct characters in each completion."""
    texts = [completion_text(c) for c in completions]
    return [len(set(t)) / max(len(t), 1) for t in texts]


def synced(func: Callable, on_gpu: bool) -> Callable:
    """`func`, the GPU synchronized when it returns (so its timing holds its kernels)."""
    if not on_gpu:
        return func
    import torch

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        out = func(*args, **kwargs)
        torch.cuda.synchronize()
        return out

    return wrapper


def sync_callback(seconds_left: Callable[[], float]):
    """Synchronizes the GPU at each step's start and end (placed before the step timer), and
    stops training once no time is left."""
    import torch
    from transformers import TrainerCallback

    class Sync(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            if torch.cuda.is_available():
                torch.cuda.synchronize()

        def on_step_end(self, args, state, control, **kwargs):
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            if seconds_left() <= 0:
                control.should_training_stop = True

    return Sync()


def prompt_rows(tokenizer: Any, count: int, tokens: int) -> list[dict]:
    """`count` one-turn chats of about `tokens` tokens each (numbered so they differ)."""
    from prover.backends.base import encode_prompt

    rows = []
    for i in range(count):
        text = f"Problem {i}. Prove that the sum of two odd integers is even."
        while len(encode_prompt(tokenizer, user_chat(text))) < tokens:
            text += f" Let m{i} and n{i} be odd; write them as 2a+1 and 2b+1."
        rows.append({"prompt": user_chat(text)})
    return rows


def recipe_for(sizes: GRPOSizes, on_gpu: bool) -> GRPORecipe:
    """The stage's defaults with one group per step; bf16 autocast and activation
    checkpointing on a GPU (as the 7B recipes), neither on a CPU."""
    return GRPORecipe(
        num_generations=sizes.generations,
        per_device_train_batch_size=sizes.generations,
        gradient_accumulation_steps=1,
        max_completion_length=sizes.completion_tokens,
        max_prompt_length=sizes.prompt_tokens + 64,
        max_steps=sizes.steps,
        use_cpu=not on_gpu,
        bf16=on_gpu,
        activation_checkpointing=on_gpu,
        logging_steps=1,
    )


def instrumented_trainer(
    model_dir: Path, sizes: GRPOSizes, clock: Clock, out: Path, left: Callable, on_gpu: bool
) -> Any:
    """The project's GRPO trainer on `model_dir`, its parts timed into `clock`."""
    from datasets import Dataset
    from transformers import AutoTokenizer, PrinterCallback

    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    data = Dataset.from_list(prompt_rows(tokenizer, 4 * sizes.steps, sizes.prompt_tokens))
    reward = timed(clock, "reward", distinct_chars)
    callbacks = [sync_callback(left), step_timer(clock)]
    recipe = recipe_for(sizes, on_gpu)
    trainer = build_trainer(model_dir, data, [reward], recipe, out, callbacks, **QUIET)
    trainer.remove_callback(PrinterCallback)  # the logs still go to out/metrics.jsonl
    trainer._generate = timed(clock, "generation", synced(trainer._generate, on_gpu))
    score = synced(trainer._generate_and_score_completions, on_gpu)
    trainer._generate_and_score_completions = timed(clock, "scoring", score)
    return trainer


def split(clock: Clock) -> dict:
    """Mean seconds per part over the steps after the first (the first warms up), and the
    first step alone."""
    steady = slice(1, None) if len(clock.step) > 1 else slice(None)

    def mean(values: list[float]) -> float:
        return round(statistics.fmean(values[steady]), 4)

    step, gen, reward = mean(clock.step), mean(clock.generation), mean(clock.reward)
    scoring_rest = mean(clock.scoring) - gen - reward
    return {
        "steps_timed": len(clock.step[steady]),
        "first_step_s": round(clock.step[0], 3),
        "step_s": step,
        "generation_s": gen,
        "reward_s": reward,
        "logprobs_and_advantages_s": round(scoring_rest, 4),
        "update_s": round(step - mean(clock.scoring), 4),
    }


def grpo_check(
    model_dir: Path,
    arch: Arch,
    sizes: GRPOSizes,
    out: Path,
    left: Callable[[], float],
    on_gpu: bool,
) -> dict:
    """Time `sizes.steps` GRPO steps on `model_dir` (fewer when `left()` runs out); on a GPU,
    the peak memory, beside the estimate for `arch` with a reference model (beta > 0)."""
    result: dict = {"model": arch.name, "sizes": sizes.__dict__}
    if on_gpu:
        import torch

        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        result["allocated_before_gib"] = round(torch.cuda.memory_allocated() / GIB, 2)
    clock = Clock()
    start = time.perf_counter()
    trainer = instrumented_trainer(model_dir, sizes, clock, out, left, on_gpu)
    trainer.train()
    result["seconds"] = round(time.perf_counter() - start, 1)
    result |= split(clock)
    params = sum(p.numel() for p in trainer.model.parameters())
    result["params"] = params
    result["weights_dtype"] = str(next(trainer.model.parameters()).dtype).removeprefix("torch.")
    if on_gpu:
        import torch

        result["peak_allocated_gib"] = round(torch.cuda.max_memory_allocated() / GIB, 2)
        result["peak_reserved_gib"] = round(torch.cuda.max_memory_reserved() / GIB, 2)
    seq = sizes.prompt_tokens + sizes.completion_tokens
    shape = RunShape(sizes.generations, seq, sharded=False, reference_model=True)
    result["estimate_gib"] = estimate(arch.shape, shape)
    del trainer
    return result
