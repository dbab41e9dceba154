"""`prover score`: verify whole proof sets and compare the verifier with human grades.

`score --lean` also cross-checks every scored proof in Lean with the verifier's model
(`prover.lean.crosscheck`) and counts where the formal and informal verdicts disagree.
This module only parses options and prints; the run is `prover.scorerun.score_proof_sets`.
"""

from __future__ import annotations

from pathlib import Path

import click

from prover.batchverify import ProofSetRun
from prover.cli.lean import lean_config, lean_options
from prover.cli.options import backend_config, model_options, proof_set_options, sampling_from
from prover.lean.crosscheck import score_summary
from prover.progress import RichReporter
from prover.scorerun import ScoreRun, score_proof_sets
from prover.scoring import ScoreConfig

SKIPPED_EXIT = 3  # the run finished, but some input records were bad and skipped


def proof_set(files: tuple[Path, ...], opts: dict) -> ProofSetRun:
    """The proof-set options of `score` and `label` (`proof_set_options`, --limit,
    --templates)."""
    return ProofSetRun(
        files,
        opts["out"],
        opts["resume"],
        opts["mapping"],
        opts["scale"],
        opts["limit"],
        opts["template_dir"],
    )


def _score_run(files: tuple[Path, ...], opts: dict) -> ScoreRun:
    meta = opts["meta_verifications"] if opts["meta"] else 0
    scoring = ScoreConfig(opts["verifications"], meta, sampling_from(opts))
    proofs, backend = proof_set(files, opts), backend_config(opts)
    return ScoreRun(proofs, backend, scoring, opts["threshold"], opts["report"], lean_config(opts))


@click.command()
@click.argument(
    "proof_files", metavar="PROOFS...", nargs=-1, required=True, type=click.Path(path_type=Path)
)
@model_options
@proof_set_options(
    "Output JSONL, one record per proof; a FILE.run/ directory beside it keeps every "
    "verification, and FILE.summary.json the summary.",
    out_required=True,
)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="Pass mark on [0, 1] for thresholded accuracy (verifier and human).",
)
@click.option(
    "--limit", type=click.IntRange(1), default=None, help="Score only the first N proofs."
)
@click.option(
    "--report",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Write PNG plots (needs the plots extra) to this directory.",
)
@click.option(
    "--graph",
    "graph_db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Record the scored proofs in this proof graph (an SQLite file) when the run finishes.",
)
@lean_options
@click.pass_context
def score(ctx: click.Context, proof_files: tuple[Path, ...], graph_db: Path | None, **opts) -> None:
    """Verify every proof in PROOFS V times; write per-proof scores and, where human grades
    exist, agreement statistics (accuracy, MAE, Pearson, Spearman, confusion, calibration)."""
    reporter = RichReporter()
    result = score_proof_sets(_score_run(proof_files, opts), reporter)
    print_table(result.summary)
    if result.lean is not None:
        click.echo(score_summary(result.lean))
    reporter.log(f"scores: {result.out}  summary: {result.summary_path}")
    if graph_db is not None:
        from prover.graph.hooks import record_into_graph

        record_into_graph(graph_db, result.out, reporter)  # with FILE.run/lean.jsonl
    if result.skipped:
        click.echo(
            f"{result.skipped} bad record(s) skipped (listed above); the rest were scored",
            err=True,
        )
        ctx.exit(SKIPPED_EXIT)


def _fmt(value) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def print_table(summary: dict) -> None:
    """Overall and per-file agreement on stdout."""
    from rich.console import Console
    from rich.table import Table

    columns = ("n", "accuracy", "mae_grade", "pearson", "spearman", "mean_verifier", "mean_human")
    table = Table(
        title=f"{summary['scored']} of {summary['proofs']} proofs scored, "
        f"{summary['skipped']} skipped; mean score {_fmt(summary['mean_score'])}"
    )
    table.add_column("set")
    for column in columns:
        table.add_column(column, justify="right")
    rows = {"all": summary["agreement"], **summary["groups"]["file"]}
    for name, stats in rows.items():
        table.add_row(name, *(_fmt(stats.get(c)) for c in columns))
    Console(soft_wrap=True).print(table)
