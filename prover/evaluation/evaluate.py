"""`prover eval` as one library call: `evaluate(EvalRun)` loads the benchmark, opens (or
resumes) the run directory, builds the generator and runs it (`prover.evaluation.run`).

The run directory's `run.json` fingerprint (`fingerprint`) is what a resumed run must share;
the item limit and k may grow on resume. It must not change, or old run directories stop
resuming. This module does not parse options or print the metrics table (`prover.cli.eval`),
nor generate, grade or compute metrics itself (`prover.evaluation.run`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from prover.backends.build import BackendConfig, build_generator
from prover.errors import InputError
from prover.evaluation.data import Dataset, load
from prover.evaluation.run import EvalConfig, run_eval
from prover.progress import Reporter
from prover.rundir import RunDir
from prover.runpaths import default_run_dir

MAX_SKIP_LINES = 10


@dataclass(frozen=True)
class EvalRun:
    """What `prover eval` was asked: the data (a file, `champ` or `gym:...`), the task and
    its sampling (`config`), the model, and where the run goes."""

    data: str
    config: EvalConfig = field(default_factory=EvalConfig)
    backend: BackendConfig = field(default_factory=BackendConfig)
    limit: int | None = None  # the first N items
    out: Path | None = None  # None: runs/eval-<data>-<time>
    resume: bool = False


@dataclass(frozen=True)
class Evaluated:
    """The metrics report (also `metrics.json`), the items evaluated and the run directory."""

    report: dict
    items: int
    run_dir: Path


def fingerprint(run: EvalRun) -> dict:
    """Settings a resumed run must share; the item limit and k may grow on resume."""
    sampling = run.config.sampling
    return {
        "command": "eval",
        "data": run.data,
        "task": run.config.task,
        "model": run.backend.model,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "max_tokens": sampling.max_tokens,
    }


def out_dir(data: str) -> Path:
    """The default run directory of a data spec."""
    name = Path(data).stem if Path(data).exists() else data
    return default_run_dir(re.sub(r"[^\w.-]+", "-", name), "eval")


def skipped_lines(dataset: Dataset) -> Iterator[str]:
    """One warning per skipped record (the first few), then a count."""
    for message in dataset.skipped[:MAX_SKIP_LINES]:
        yield f"warning: {message}"
    if len(dataset.skipped) > MAX_SKIP_LINES:
        more = len(dataset.skipped) - MAX_SKIP_LINES
        yield f"warning: ... and {more} more skipped records"


def evaluate(
    run: EvalRun,
    reporter: Reporter | None = None,
    warn: Callable[[str], None] | None = None,
) -> Evaluated:
    """Evaluate (or resume evaluating) the model on the data; `warn` gets one line per
    skipped input record, before any model is loaded."""
    reporter = reporter or Reporter()
    dataset = load(run.data, run.limit)
    for line in skipped_lines(dataset):
        if warn is not None:
            warn(line)
    if run.resume and run.out is None:
        raise InputError("--resume needs --out RUN_DIR (the run to continue)")
    run_dir = RunDir(run.out or out_dir(run.data), fingerprint(run), resume=run.resume)
    generator = build_generator(run.backend)
    notes = {"data": run.data, "skipped_records": len(dataset.skipped)}
    report = run_eval(generator, dataset.items, run.config, run_dir, reporter, notes)
    return Evaluated(report, len(dataset.items), run_dir.path)
