"""Supervised fine-tuning with DeepSeekMath-Instruct's settings on TRL's `SFTTrainer`.

`SFTRecipe` holds the paper's numbers for deepseek-math-7b-base -> -instruct (500 steps, batch
256, constant lr 5e-5, 4K context) and maps them onto `trl.SFTConfig`. `to_dataset` turns
`SFTRecord`s into a prompt/completion `datasets.Dataset` in the DeepSeekMath-Instruct format:
prompt "User: {question}\\n{instruction}\\n\\nAssistant:", completion " {reasoning}" (for chain of
thought, ending with the answer in `\\boxed{}`). With prompt/completion data, TRL sets the labels
of prompt tokens to -100 (`completion_only_loss`), so the loss falls on the completion only; TRL
also appends EOS to each completion.

`train_sft(SFTRun)` is the whole stage in one call (`prover train sft`): the recipe, the
records, the trainer, a resumable run and the saved model.

This module does NOT: parse data files or validate answers (see `verifier_train.sft_data`),
parse command lines, launch processes (use accelerate/torchrun), apply LoRA, or pack by default
(the paper concatenates examples to 4K; set `packing=True` on GPUs with flash attention).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from prover.backends.base import deepseek_math_chat
from prover.errors import InputError
from prover.evaluation.tasks import COT_INSTRUCTION, POT_INSTRUCTION
from prover.parse import last_boxed
from verifier_train.sft_data import SFTRecord, boxed_sentence
from verifier_train.trainer_io import Log, StageRun, Trained, load_stage, train_and_save, trained

INSTRUCTIONS: Mapping[str, str] = {
    "cot": COT_INSTRUCTION,
    "pot": POT_INSTRUCTION,
    "tool": POT_INSTRUCTION,
}

# Settings that make a recipe run on a CPU-only machine (pass as overrides).
CPU_OVERRIDES: Mapping[str, Any] = {
    "use_cpu": True,
    "bf16": False,
    "activation_checkpointing": False,
}


@dataclass(frozen=True)
class SFTRecipe:
    """DeepSeekMath-Instruct SFT: 500 steps of 256 examples at a constant lr of 5e-5, 4K tokens.

    The batch is per_device x accumulation x processes: 16 x 16 on one process; with N
    processes, divide `gradient_accumulation_steps` by N to keep 256."""

    max_steps: int = 500
    per_device_train_batch_size: int = 16
    gradient_accumulation_steps: int = 16
    learning_rate: float = 5e-5
    lr_scheduler_type: str = "constant"
    warmup_steps: int = 0
    max_length: int = 4096
    packing: bool = False
    completion_only_loss: bool = True
    logging_steps: int = 10
    save_steps: int = 100
    seed: int = 0
    use_cpu: bool = False
    bf16: bool = True
    activation_checkpointing: bool = True
    report_to: tuple[str, ...] = ()

    @property
    def batch_size(self) -> int:
        """Examples per optimizer step on one process."""
        return self.per_device_train_batch_size * self.gradient_accumulation_steps


def to_sft_config(recipe: SFTRecipe, output_dir: Path | str, **overrides: Any):
    """The `trl.SFTConfig` for `recipe`; `overrides` are passed through to SFTConfig."""
    from trl import SFTConfig

    from verifier_train.train_args import build_args

    fields = asdict(recipe)
    fields["report_to"] = list(recipe.report_to) or "none"
    return build_args(SFTConfig, output_dir, {**fields, **overrides})


def prompt_text(record: SFTRecord) -> str:
    """The DeepSeekMath-Instruct prompt: the question, the format's instruction, "Assistant:"."""
    instruction = INSTRUCTIONS[record.meta.format]
    return deepseek_math_chat([{"role": "user", "content": f"{record.question}\n{instruction}"}])


def completion_text(record: SFTRecord) -> str:
    """The reasoning after one space; chain of thought without a box gets a boxed answer."""
    reasoning = record.reasoning.strip()
    if record.meta.format == "cot" and last_boxed(reasoning) is None:
        reasoning = f"{reasoning}\n{boxed_sentence(record.answer)}"
    return f" {reasoning}"


def to_dataset(records: Iterable[SFTRecord]):
    """A `datasets.Dataset` with `prompt` and `completion` text columns."""
    from datasets import Dataset

    rows = [{"prompt": prompt_text(r), "completion": completion_text(r)} for r in records]
    if not rows:
        raise ValueError("no SFT records to train on")
    return Dataset.from_list(rows)


def build_trainer(
    model_path: Path | str,
    records: Iterable[SFTRecord],
    recipe: SFTRecipe | None = None,
    output_dir: Path | str = "sft-out",
    **overrides: Any,
):
    """A `trl.SFTTrainer` for the model at `model_path` on `records`, loss on completions only;
    `overrides` go to `SFTConfig` (e.g. `**CPU_OVERRIDES`, `max_steps=3`)."""
    from transformers import AutoTokenizer
    from trl import SFTTrainer

    from verifier_train.train_metrics import MetricsJSONL

    tokenizer = AutoTokenizer.from_pretrained(str(model_path))
    return SFTTrainer(
        model=str(model_path),
        args=to_sft_config(recipe or SFTRecipe(), output_dir, **overrides),
        train_dataset=to_dataset(records),
        processing_class=tokenizer,
        callbacks=[MetricsJSONL(output_dir)],
    )


@dataclass(frozen=True)
class SFTRun:
    """What `prover train sft` is asked: the run, the data files, and whether each record's
    answer is checked against its reasoning."""

    run: StageRun
    files: tuple[Path, ...]
    check_answers: bool = True


def train_sft(config: SFTRun, log: Log = print) -> Trained:
    """Fine-tune the run's model on the records of `config.files` (bad ones are logged and
    skipped) into `out/final`, resuming from the last checkpoint in `out`."""
    from verifier_train.sft_data import load_sft

    stage, policy = load_stage(config.run, "sft", SFTRecipe)
    records, rejected = load_sft(config.files, check_answers=config.check_answers)
    for reason in rejected:
        log(f"skipped {reason}")
    if not records:
        raise InputError("no usable SFT records")
    out = config.run.out
    trainer = build_trainer(policy, records, stage, out, **config.run.overrides())
    final = train_and_save(trainer, out)
    summary = f"fine-tuned {policy} on {len(records)} records ({len(rejected)} skipped); "
    return trained(trainer, final, summary + f"model in {final}")
