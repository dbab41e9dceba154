"""`prover eval`: answer benchmarks in the DeepSeekMath setups (CoT, few-shot, program of thought).

This module parses options, makes one call (`prover.evaluation.evaluate`) and prints the
metrics table; it does not load data, generate, grade or compute metrics itself.
"""

from __future__ import annotations

from pathlib import Path

import click

from prover.cli.options import backend_config, backend_options, sampling_from
from prover.evaluation.tasks import TASKS
from prover.progress import RichReporter


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
    from prover.evaluation.evaluate import EvalRun, evaluate
    from prover.evaluation.run import EvalConfig

    config = EvalConfig(task, samples, sampling_from(opts), workers)
    run = EvalRun(data, config, backend_config(opts), limit, out, resume)
    evaluated = evaluate(run, RichReporter(), warn=lambda line: click.echo(line, err=True))
    click.echo(_render(metrics_table(evaluated.report)))
    click.echo(f"{evaluated.items} items; samples and metrics in {evaluated.run_dir}", err=True)


def _render(table) -> str:
    """The table as plain text for stdout (no colour codes in pipes and files)."""
    from rich.console import Console

    console = Console(width=160, color_system=None, force_terminal=False)
    with console.capture() as capture:
        console.print(table)
    return capture.get().rstrip()
