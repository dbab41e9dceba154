"""Training metrics every stage shares: a JSONL log and held-out maj@k / pass@k at intervals.

`MetricsJSONL` appends each of the Trainer's log entries (TRL's GRPO logs reward mean and std,
`kl`, `clip_ratio/*`, `completions/mean_length`, per-function rewards, ...) as one JSON line
with its step to `metrics.jsonl`; on resume it first drops the lines logged after the
checkpoint, so the file never holds a step twice. TensorBoard and W&B are TRL's own
`report_to` and need nothing here.

`HeldOutEval` samples k answers per held-out question with the policy being trained (through
`prover.backends.hf.HFBackend.from_loaded`, the same sampling as `prover eval`), grades them
with the project's grader and logs accuracy, maj@k and pass@k every `every` steps. Every rank
samples the same questions (so ZeRO-3 / FSDP shards all take part in `generate`); only the
main process writes.

This module does NOT train, choose what to evaluate on, or grade programs (chain of thought
only).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prover.rundir import append_jsonl, read_jsonl

METRICS_FILE = "metrics.jsonl"


def callback_base() -> type:
    from transformers import TrainerCallback

    return TrainerCallback


def _finite(value: Any) -> Any:
    """JSON has no NaN: a non-finite float becomes None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def truncate_after(path: Path, step: int) -> None:
    """Keep only the lines of `path` logged at or before `step` (a resumed run re-logs the
    rest)."""
    if not path.exists():
        return
    kept = [r for r in read_jsonl(path) if int(r.get("step", 0)) <= step]
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
    tmp.replace(path)


class MetricsJSONL(callback_base()):
    """Appends each log entry, with `step`, `epoch` and wall time, to output_dir/metrics.jsonl."""

    def __init__(self, output_dir: Path | str):
        self.path = Path(output_dir) / METRICS_FILE

    def on_train_begin(self, args, state, control, **kwargs: Any) -> None:
        if state.is_world_process_zero:
            truncate_after(self.path, state.global_step)

    def on_log(self, args, state, control, logs: dict | None = None, **kwargs: Any) -> None:
        if not state.is_world_process_zero or not logs:
            return
        record = {"step": state.global_step, "epoch": state.epoch, "time": time.time()}
        append_jsonl(self.path, [record | {k: _finite(v) for k, v in logs.items()}])


@dataclass(frozen=True)
class HeldOutConfig:
    """How to evaluate the policy during training."""

    every: int = 50  # optimizer steps between evaluations (also once before training)
    samples: int = 4  # k: samples per question for maj@k and pass@k
    max_tokens: int = 512
    temperature: float = 0.7
    batch_size: int = 16
    seed: int = 0


def evaluate_policy(model: Any, tokenizer: Any, items: Sequence, config: HeldOutConfig) -> dict:
    """accuracy, maj@k and pass@k of `model` on `items` (prover.evaluation Items), CoT prompts."""
    from prover.backends.base import Sampling
    from prover.backends.hf import HFBackend
    from prover.evaluation.metrics import ItemResult, aggregate
    from prover.evaluation.tasks import build_prompt
    from prover.grading import grade_many

    backend = HFBackend.from_loaded(model, tokenizer, config.batch_size)
    sampling = Sampling(config.temperature, max_tokens=config.max_tokens, seed=config.seed)
    outputs = backend.generate([build_prompt(i, "cot") for i in items], config.samples, sampling)
    pairs = [(item.answer, c.text) for item, cs in zip(items, outputs, strict=True) for c in cs]
    grades = iter(grade_many(pairs))
    results = []
    for item, completions in zip(items, outputs, strict=True):
        got = [next(grades) for _ in completions]
        results.append(
            ItemResult(
                item.id,
                tuple(g.deepseek for g in got),
                tuple(g.math_verify for g in got),
                tuple(g.answer for g in got),
            )
        )
    return aggregate(results)


class HeldOutEval(callback_base()):
    """Logs `eval/accuracy`, `eval/maj@k` and `eval/pass@k` on held-out items at intervals."""

    def __init__(self, items: Sequence, config: HeldOutConfig = HeldOutConfig()):
        if not items:
            raise ValueError("HeldOutEval needs at least one held-out item")
        self.items, self.config = list(items), config
        self.history: list[dict] = []

    def _due(self, step: int, last: int) -> bool:
        """Every `every` steps and at the last step, once each."""
        done = any(h["step"] == step for h in self.history)
        return not done and (step % self.config.every == 0 or step == last)

    def _run(self, state, model: Any, tokenizer: Any) -> dict:
        was_training = model.training
        model.eval()
        start = time.perf_counter()
        try:
            metrics = evaluate_policy(model, tokenizer, self.items, self.config)
        finally:
            model.train(was_training)
        keep = ("accuracy", f"maj@{self.config.samples}", "pass@1", f"pass@{self.config.samples}")
        entry = {f"eval/{k}": metrics[k] for k in keep if k in metrics}
        entry["eval/seconds"] = round(time.perf_counter() - start, 3)
        self.history.append({"step": state.global_step, **entry})
        return entry

    def on_train_begin(self, args, state, control, model=None, processing_class=None, **kw):
        if self._due(state.global_step, state.max_steps):
            self._log(args, state, self._run(state, model, processing_class))

    def on_step_end(self, args, state, control, model=None, processing_class=None, **kw):
        if self._due(state.global_step, state.max_steps):
            self._log(args, state, self._run(state, model, processing_class))

    def _log(self, args, state, entry: dict) -> None:
        """Straight to the run's metrics file: the Trainer's own log is per training step."""
        if state.is_world_process_zero:
            record = {"step": state.global_step, "time": time.time()} | entry
            append_jsonl(Path(args.output_dir) / METRICS_FILE, [record])
