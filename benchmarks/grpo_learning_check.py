"""Learning check of the V1 training stages on a CPU: SFT a tiny character-level model on
small-number addition, stop early, then GRPO with the answer grader's reward; print held-out
accuracy before and after GRPO for each seed, the GRPO step time split into generation, reward
and update, and the step time of the project's `ProcessGRPOTrainer` against a stock
`trl.GRPOTrainer` on the same setup. All figures come from one run (~9 minutes on 2 cores).

    python benchmarks/grpo_learning_check.py [--seeds 0 1 2] [--quick] [--threads 1]

The stages are the project's own: `verifier_train.sft.build_trainer` on `SFTRecord`s (the
DeepSeekMath-Instruct prompt), `verifier_train.grpo.build_trainer` with
`verifier_train.rewards.answer_reward` (DeepSeekMath's objective: beta 0.04, loss "grpo"), and
held-out accuracy is greedy generation through `prover.backends.hf.HFBackend` graded by
`prover.grading.grade_many` (the DeepSeekMath verdict). Problems are reasoning-gym's
`basic_arithmetic`, two-term additions of numbers 0-100 with the gym's question text and
answer; the SFT reasoning is column addition written from the gym's expression. Held-out
problems come from a disjoint range of gym seeds, minus any question also in the training set.

SFT stops early on purpose, at the first check where it solves 30% of 200 training problems,
so GRPO starts with headroom; GRPO is compared with that SFT starting point, not with SFT
continued for the same time (which would also improve: SFT is in a steep rise there).

This script does NOT use a GPU, check the paper's numbers, or compare against continued SFT.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from _step_timing import step_timer, timed  # noqa: E402

from prover.backends.base import Sampling  # noqa: E402
from prover.backends.hf import HFBackend  # noqa: E402
from prover.evaluation.tasks import COT_INSTRUCTION  # noqa: E402
from prover.grading import grade_many, shutdown_workers  # noqa: E402
from verifier_train.grpo import GRPORecipe, to_grpo_config  # noqa: E402
from verifier_train.grpo import build_trainer as build_grpo  # noqa: E402
from verifier_train.rewards import answer_reward  # noqa: E402
from verifier_train.sft import CPU_OVERRIDES, SFTRecipe, prompt_text  # noqa: E402
from verifier_train.sft import build_trainer as build_sft  # noqa: E402
from verifier_train.sft_data import SFTRecord  # noqa: E402
from verifier_train.v2.toyworld.charmodel import build_char_model  # noqa: E402

# Two-term additions of numbers 0-100 ("2 digits" in the gym is randint(0, 100)). With "-" too,
# or with one-digit problems making up half of the data, the tiny model learned too slowly.
GYM_CONFIG = {
    "min_terms": 2,
    "max_terms": 2,
    "min_digits": 2,
    "max_digits": 2,
    "operators": ("+",),
    "allow_parentheses": False,
    "allow_negation": False,
}
# reasoning-gym seeds item i with seed + i, so the two ranges must not overlap.
TRAIN_DATA_SEED, HELDOUT_DATA_SEED = 0, 10**6
# The prompt template's fixed parts are single tokens of the character-level model, so a prompt
# is ~20 positions, not ~110 (its compute, not its text, is what this shortens).
TEMPLATE_WORDS = ("User:", COT_INSTRUCTION, "Assistant:", "Calculate", "\\boxed{")
MAX_NEW_TOKENS = 40  # the longest target, " 0+0=0 0+0=0 1+1=2 \boxed{200}" + EOS, is 25
QUIET = {"save_strategy": "no", "disable_tqdm": True, "logging_steps": 10**6}


@dataclass(frozen=True)
class Settings:
    """Sizes of one check; `--quick` shrinks them for a smoke run."""

    train_size: int = 8000
    dev_size: int = 200  # train problems that decide when SFT stops
    heldout_size: int = 300
    sft_max_steps: int = 300
    sft_check_from: int = 100  # SFT checks the dev set every 10 steps from here on
    sft_target: float = 0.30  # and stops once it solves this share (stopped early on purpose)
    sft_batch: int = 128
    sft_lr: float = 1e-3
    grpo_steps: int = 60
    grpo_batch: int = 128  # completions per step: batch / generations prompts
    generations: int = 8
    grpo_lr: float = 1e-4
    temperature: float = 0.4
    compare_steps: int = 8


QUICK = Settings(heldout_size=100, dev_size=100, sft_target=0.2, grpo_steps=20, compare_steps=3)


# --- Data -----------------------------------------------------------------------------------


def column_addition(expression: str) -> str:
    """Column addition from the units up, one single-digit sum per column, then the boxed
    total: "58 + 67" -> "8+7=15 5+6+1=12 \\boxed{125}". A 1M-parameter model writing the sum
    at once was at ~10% held-out after 250 SFT steps; with these steps it learns in ~150."""
    a, b = (term.strip() for term in expression.split("+"))
    width = max(len(a), len(b))
    a, b = a.zfill(width), b.zfill(width)
    columns, carry = [], 0
    for x, y in zip(reversed(a), reversed(b), strict=True):
        total = int(x) + int(y) + carry
        columns.append(f"{x}+{y}{'+1' if carry else ''}={total}")
        carry = total // 10
    return " ".join(columns) + f" \\boxed{{{int(a) + int(b)}}}"


def gym_records(size: int, seed: int) -> list[SFTRecord]:
    """reasoning-gym problems as SFT records (the gym's question and answer; the reasoning is
    column addition of the gym's expression)."""
    import reasoning_gym

    data = reasoning_gym.create_dataset("basic_arithmetic", size=size, seed=seed, **GYM_CONFIG)
    records = []
    for entry in data:
        reasoning = column_addition(entry["metadata"]["expression"])
        records.append(SFTRecord(entry["question"], reasoning, entry["answer"]))
    return records


def make_data(settings: Settings) -> tuple[list[SFTRecord], list[SFTRecord]]:
    """(train, held-out): held-out questions that also occur in train are dropped."""
    train = gym_records(settings.train_size, TRAIN_DATA_SEED)
    seen = {r.question for r in train}
    candidates = gym_records(settings.heldout_size * 3, HELDOUT_DATA_SEED)
    heldout = [r for r in candidates if r.question not in seen][: settings.heldout_size]
    return train, heldout


def grpo_dataset(records: list[SFTRecord]):
    """GRPO rows: the SFT prompt as plain text (so TRL applies no chat template) and the gold."""
    from datasets import Dataset

    return Dataset.from_list([{"prompt": prompt_text(r), "answer": r.answer} for r in records])


# --- Stages ---------------------------------------------------------------------------------


def quiet(trainer: Any) -> Any:
    """The trainer without transformers' per-log printing (this script prints its own table)."""
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    for callback in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(callback)
    return trainer


def early_stop(dev: list[SFTRecord], settings: Settings):
    """A callback that stops SFT once greedy accuracy on `dev` (training problems, not the
    held-out ones) reaches the target, so that every seed starts GRPO from a similar point
    short of the sharp rise SFT makes a few dozen steps later."""
    from transformers import TrainerCallback

    class EarlyStop(TrainerCallback):
        def on_step_end(self, args, state, control, model=None, processing_class=None, **_):
            step = state.global_step
            if step >= settings.sft_check_from and step % 10 == 0:
                if accuracy(model, processing_class, dev) >= settings.sft_target:
                    control.should_training_stop = True

    return EarlyStop()


def run_sft(model: Path, train: list[SFTRecord], settings: Settings, seed: int, out: Path):
    """SFT from the random model until the dev target (or the step cap); saved to `out`.
    Returns the saved path and the number of SFT steps."""
    recipe = SFTRecipe(
        max_steps=settings.sft_max_steps,
        per_device_train_batch_size=settings.sft_batch,
        gradient_accumulation_steps=1,
        learning_rate=settings.sft_lr,
        max_length=256,
        seed=seed,
        **CPU_OVERRIDES,
    )
    trainer = quiet(build_sft(model, train, recipe, out / "sft-run", **QUIET))
    trainer.add_callback(early_stop(train[: settings.dev_size], settings))
    trainer.train()
    trainer.save_model(str(out / "sft"))
    return out / "sft", trainer.state.global_step


def grpo_recipe(settings: Settings, seed: int, steps: int) -> GRPORecipe:
    return GRPORecipe(
        num_generations=settings.generations,
        learning_rate=settings.grpo_lr,
        temperature=settings.temperature,
        max_completion_length=MAX_NEW_TOKENS,
        per_device_train_batch_size=settings.grpo_batch,
        gradient_accumulation_steps=1,
        max_steps=steps,
        seed=seed,
        use_cpu=True,
    )


def accuracy(model: Any, tokenizer: Any, heldout: list[SFTRecord]) -> float:
    """Greedy exact-answer accuracy (DeepSeekMath verdict) on the held-out problems."""
    was_training = model.training
    model.eval()
    backend = HFBackend.from_loaded(model, tokenizer, batch_size=len(heldout))
    sampling = Sampling(temperature=0, max_tokens=MAX_NEW_TOKENS)
    outputs = backend.generate([prompt_text(r) for r in heldout], 1, sampling)
    pairs = [(r.answer, out[0].text) for r, out in zip(heldout, outputs, strict=True)]
    model.train(was_training)
    return sum(g.deepseek for g in grade_many(pairs)) / len(pairs)


def load_accuracy(path: Path, heldout: list[SFTRecord]) -> float:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(path))
    return accuracy(model, AutoTokenizer.from_pretrained(str(path)), heldout)


# --- Timing ---------------------------------------------------------------------------------


@dataclass
class StepTimes:
    """Seconds per optimizer step, and the generation and reward seconds inside each."""

    step: list[float] = field(default_factory=list)
    generation: list[float] = field(default_factory=list)
    reward: list[float] = field(default_factory=list)
    started: float = 0.0

    def add(self, kind: str, seconds: float) -> None:
        getattr(self, kind).append(seconds)


def instrument(trainer: Any, times: StepTimes) -> Any:
    """Time the trainer's generation (TRL's `_generate`: sampling and decoding) and steps."""
    trainer._generate = timed(times, "generation", trainer._generate)
    trainer.add_callback(step_timer(times))
    return quiet(trainer)


def timed_reward(times: StepTimes) -> Callable:
    return timed(times, "reward", answer_reward)


# --- GRPO runs ------------------------------------------------------------------------------


def run_grpo(sft: Path, dataset, settings: Settings, seed: int, out: Path, steps: int):
    """The project's GRPO stage from the SFT model; returns (trainer, step times)."""
    times = StepTimes()
    recipe = grpo_recipe(settings, seed, steps)
    trainer = build_grpo(sft, dataset, [timed_reward(times)], recipe, out, **QUIET)
    instrument(trainer, times)
    trainer.train()
    return trainer, times


def run_stock(sft: Path, dataset, settings: Settings, seed: int, out: Path, steps: int):
    """A stock `trl.GRPOTrainer` with the same model, data, config and seed."""
    from transformers import AutoTokenizer
    from trl import GRPOTrainer

    times = StepTimes()
    trainer = GRPOTrainer(
        model=str(sft),
        reward_funcs=[timed_reward(times)],
        args=to_grpo_config(grpo_recipe(settings, seed, steps), out, **QUIET),
        train_dataset=dataset,
        processing_class=AutoTokenizer.from_pretrained(str(sft)),
    )
    instrument(trainer, times)
    trainer.train()
    return trainer, times


@dataclass(frozen=True)
class SeedResult:
    seed: int
    sft_steps: int
    sft_acc: float
    grpo_acc: float
    sft_s: float
    grpo_s: float
    times: StepTimes
    sft_path: Path


def one_seed(train, heldout, settings: Settings, seed: int, tmp: Path) -> SeedResult:
    """SFT from a fresh random model, then GRPO from the SFT model, both with `seed`."""
    base = build_char_model(tmp / f"init-{seed}", TEMPLATE_WORDS, seed=seed)
    start = time.perf_counter()
    sft, sft_steps = run_sft(base, train, settings, seed, tmp / f"seed-{seed}")
    sft_s = time.perf_counter() - start
    sft_acc = load_accuracy(sft, heldout)
    start = time.perf_counter()
    out = tmp / f"seed-{seed}" / "grpo"
    trainer, times = run_grpo(sft, grpo_dataset(train), settings, seed, out, settings.grpo_steps)
    grpo_s = time.perf_counter() - start
    grpo_acc = accuracy(trainer.model, trainer.processing_class, heldout)
    print(
        f"  seed {seed}: SFT {sft_steps} steps {sft_acc:6.1%} -> GRPO {grpo_acc:6.1%}"
        f"  (SFT {sft_s:.0f} s, GRPO {grpo_s:.0f} s)",
        flush=True,
    )
    return SeedResult(seed, sft_steps, sft_acc, grpo_acc, sft_s, grpo_s, times, sft)


def compare_trainers(sft: Path, train, settings: Settings, tmp: Path) -> tuple[float, float]:
    """Median step seconds of (ProcessGRPOTrainer, stock GRPOTrainer) over two alternating
    rounds from the same SFT model and seed; each run's first step (warm-up) is left out."""
    dataset, steps = grpo_dataset(train), settings.compare_steps + 1
    ours: list[float] = []
    stock: list[float] = []
    for round_ in range(2):
        _, times = run_stock(sft, dataset, settings, 0, tmp / f"stock-{round_}", steps)
        stock += times.step[1:]
        _, times = run_grpo(sft, dataset, settings, 0, tmp / f"ours-{round_}", steps)
        ours += times.step[1:]
    return statistics.median(ours), statistics.median(stock)


# --- Report ---------------------------------------------------------------------------------


def split(times: StepTimes) -> tuple[float, float, float, float]:
    """Mean (step, generation, reward, update) seconds per step, the first step left out."""
    skip = 1 if len(times.step) > 1 else 0
    step = statistics.mean(times.step[skip:])
    gen = statistics.mean(times.generation[skip:])
    reward = statistics.mean(times.reward[skip:])
    return step, gen, reward, step - gen - reward


def row(label: str, steps: float, sft: float, grpo: float, sft_s: float, grpo_s: float) -> str:
    return (
        f"{label:>4}  {steps:9.0f}  {sft:9.1%}  {grpo:10.1%}  {grpo - sft:+6.1%}"
        f"  {sft_s:6.0f}  {grpo_s:6.0f}"
    )


def print_accuracy(results: list[SeedResult]) -> None:
    print("\nheld-out accuracy (greedy, DeepSeekMath verdict):")
    print("seed  SFT steps  SFT start  after GRPO    gain   SFT s  GRPO s")
    for r in results:
        print(row(str(r.seed), r.sft_steps, r.sft_acc, r.grpo_acc, r.sft_s, r.grpo_s))
    columns = ("sft_steps", "sft_acc", "grpo_acc", "sft_s", "grpo_s")
    means = [statistics.mean(getattr(r, c) for r in results) for c in columns]
    print(row("mean", *means))


def print_split(results: list[SeedResult], settings: Settings) -> None:
    per_seed = [split(r.times) for r in results]
    step, gen, reward, update = (statistics.mean(col) for col in zip(*per_seed, strict=True))
    print(f"\nGRPO step ({settings.grpo_batch} completions), mean over seeds, first step left out:")
    print(f"  generation {gen:6.3f} s  {gen / step:5.1%}  (TRL's _generate)")
    print(f"  reward     {reward:6.3f} s  {reward / step:5.1%}  (answer_reward: the grader)")
    print(f"  update     {update:6.3f} s  {update / step:5.1%}  (log-probs, loss, backward, step)")
    print(f"  step       {step:6.3f} s")


def print_ratio(ours: float, stock: float, settings: Settings) -> None:
    print(
        f"\nProcessGRPOTrainer vs stock trl.GRPOTrainer: median of {2 * settings.compare_steps}"
        " steps each\n(same SFT model, data, config and seed; two alternating rounds):"
    )
    print(f"  ProcessGRPOTrainer {ours:6.3f} s/step")
    print(f"  trl.GRPOTrainer    {stock:6.3f} s/step")
    print(f"  ratio              {ours / stock:6.3f}x")


def silence() -> None:
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")


def describe(train, heldout, settings: Settings, threads: int) -> str:
    return (
        f"basic_arithmetic (+, 0-100): {len(train)} train, {len(heldout)} held-out problems\n"
        f"SFT: batch {settings.sft_batch}, lr {settings.sft_lr:g}, until {settings.sft_target:.0%}"
        f" of {settings.dev_size} train problems (checked every 10 steps from"
        f" {settings.sft_check_from}, at most {settings.sft_max_steps})\n"
        f"GRPO: {settings.grpo_steps} steps x {settings.grpo_batch} completions, G"
        f" {settings.generations}, lr {settings.grpo_lr:g}, temperature {settings.temperature:g},"
        f" beta 0.04, loss grpo\nCPUs {os.cpu_count()}, torch threads {threads}"
    )


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--quick", action="store_true", help="one seed, few steps (smoke run)")
    # One thread: on this shared 2-core machine two threads made SFT steps 2.4x slower.
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()
    settings = QUICK if args.quick else Settings()
    seeds = args.seeds[:1] if args.quick else args.seeds
    torch.set_num_threads(args.threads)
    silence()
    start = time.perf_counter()
    train, heldout = make_data(settings)
    print(describe(train, heldout, settings, args.threads), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        results = [one_seed(train, heldout, settings, s, Path(tmp)) for s in seeds]
        ratio = compare_trainers(results[0].sft_path, train, settings, Path(tmp))
    print_accuracy(results)
    print_split(results, settings)
    print_ratio(*ratio, settings)
    print(f"\ntotal wall time {time.perf_counter() - start:.0f} s")
    shutdown_workers()


if __name__ == "__main__":
    main()
