"""`prover eval`: answer benchmarks in the DeepSeekMath setups (CoT, few-shot, program of thought).

This module parses options, loads data and prints the metrics table; it does not generate,
grade or compute metrics itself (see `prover.evaluation`).
"""

from __future__ import annotations

import re
from pathlib import Path

import click

from prover.cli.options import backend_options, build_generator, default_run_dir, sampling_from
from prover.errors import InputError
from prover.evaluation.data import Dataset, load
from prover.evaluation.tasks import TASKS
from prover.progress import RichReporter
from prover.rundir import RunDir

MAX_SKIP_LINES = 10
FINGERPRINT = ("model", "temperature", "top_p", "max_tokens")


def _fingerprint(data: str, task: str, opts: dict) -> dict:
    """Settings a resumed run must share; the item limit and k may grow on resume."""
    return {"command": "eval", "data": data, "task": task, **{k: opts[k] for k in FINGERPRINT}}


def _out_dir(data: str) -> Path:
    name = Path(data).stem if Path(data).exists() else data
    return default_run_dir(re.sub(r"[^\w.-]+", "-", name), "eval")


def _report_skipped(dataset: Dataset) -> None:
    """One unwrapped stderr line per skipped record (the first few), then a count."""
    for message in dataset.skipped[:MAX_SKIP_LINES]:
        click.echo(f"warning: {message}", err=True)
    if len(dataset.skipped) > MAX_SKIP_LINES:
        more = len(dataset.skipped) - MAX_SKIP_LINES
        click.echo(f"warning: ... and {more} more skipped records", err=True)


def _percent(value) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def metric_columns(overall: dict) -> list[str]:
    """accuracy, maj@k, pass@k..., then the secondary scores present in the results."""
    head = ["accuracy", *sorted(k for k in overall if k.startswith("maj@"))]
    passes = sorted((k for k in overall if k.startswith("pass@")), key=lambda k: int(k[5:]))
    tail = [k for k in ("math_verify_accuracy", "program_accuracy", "gym_score") if k in overall]
    return head + passes + tail


def metrics_table(report: dict):
    """A rich table: one row overall, then one per subject and per level."""
    from rich.table import Table

    metrics = report["metrics"]
    columns = metric_columns(metrics["overall"])
    table = Table(title=f"prover eval · {report['task']} · k={report['samples_per_item']}")
    table.add_column("group")
    table.add_column("items", justify="right")
    for name in columns:
        table.add_column(name.replace("_accuracy", "").replace("_", "-"), justify="right")
    rows = [("overall", metrics["overall"])]
    for attr in ("subject", "level"):
        rows += [(f"{attr}: {name}", m) for name, m in metrics.get(f"by_{attr}", {}).items()]
    for name, m in rows:
        table.add_row(name, str(m["items"]), *(_percent(m.get(c)) for c in columns))
    return table


@click.command("eval")
@click.argument("data", metavar="DATA")
@click.option(
    "--task",
    type=click.Choice(TASKS),
    default="cot",
    show_default=True,
    help="cot: zero-shot chain of thought (chat); fewshot: few-shot chain of thought for base "
    "models (raw text); pot: tool-integrated program of thought (code runs in a sandbox).",
)
@click.option("--limit", type=click.IntRange(1), default=None, help="Evaluate the first N items.")
@click.option(
    "--samples",
    "-k",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Samples per item (k of maj@k and pass@k).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Run directory for samples.jsonl and metrics.json [default: runs/eval-<data>-<time>].",
)
@click.option("--resume", is_flag=True, help="Continue the run in --out, recomputing nothing.")
@click.option(
    "--workers",
    type=click.IntRange(1),
    default=2,
    show_default=True,
    help="Processes for grading and for running programs.",
)
@backend_options
def eval_command(data, task, limit, samples, out, resume, workers, **opts) -> None:
    """Score a model on an answer benchmark.

    DATA is a GSM8K, MATH or CMATH file (JSON or JSONL; a directory of MATH JSON files works
    too), `champ` (CHAMP, from champ-dataset) or `gym:<generator>[:count[:seed]]` (reasoning-gym).
    Writes samples.jsonl (one graded record per sample) and metrics.json to --out and prints
    the metrics: accuracy, maj@k and pass@k by the DeepSeekMath rules, Math-Verify's beside.
    """
    from prover.evaluation.run import EvalConfig, run_eval

    reporter = RichReporter()
    dataset = load(data, limit)
    _report_skipped(dataset)
    if resume and out is None:
        raise InputError("--resume needs --out RUN_DIR (the run to continue)")
    run = RunDir(out or _out_dir(data), _fingerprint(data, task, opts), resume=resume)
    generator = build_generator(opts)
    config = EvalConfig(task, samples, sampling_from(opts), workers)
    notes = {"data": data, "skipped_records": len(dataset.skipped)}
    report = run_eval(generator, dataset.items, config, run, reporter, notes)
    click.echo(_render(metrics_table(report)))
    click.echo(f"{len(dataset.items)} items; samples and metrics in {run.path}", err=True)


def _render(table) -> str:
    """The table as plain text for stdout (no colour codes in pipes and files)."""
    from rich.console import Console

    console = Console(width=160, color_system=None, force_terminal=False)
    with console.capture() as capture:
        console.print(table)
    return capture.get().rstrip()
