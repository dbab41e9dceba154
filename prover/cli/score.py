"""`prover score`: verify whole proof sets and compare the verifier with human grades.

`score --lean` also cross-checks every scored proof in Lean with the verifier's model
(`prover.lean.crosscheck`) and counts where the formal and informal verdicts disagree.
"""

from __future__ import annotations

from pathlib import Path

import click

from prover.agreement import summarize
from prover.backends import Backend
from prover.cli.lean import lean_options, lean_setup
from prover.cli.options import build_verifier, model_options, proof_set_options, sampling_from
from prover.errors import InputError, require
from prover.lean.crosscheck import (
    LeanSetup,
    attach_to_scores,
    check_proofs,
    score_summary,
    score_targets,
)
from prover.progress import Reporter, RichReporter
from prover.prompts import Templates
from prover.proofsets import guessed_scales, parse_map, read_proofs
from prover.rundir import RunDir, write_json, write_jsonl
from prover.scoring import BatchScorer, ScoreConfig

SKIPPED_EXIT = 3  # the run finished, but some input records were bad and skipped


def _paths(out: Path) -> tuple[Path, Path]:
    """(run directory beside the output, summary file beside the output)."""
    stem = out.name.removesuffix(".jsonl")
    return out.with_name(out.name + ".run"), out.with_name(stem + ".summary.json")


def _fingerprint(files: tuple[Path, ...], opts: dict, templates: Templates) -> dict:
    """Settings a resumed run must share with the run it continues."""
    keys = ("verifications", "temperature", "top_p", "max_tokens", "scale", "mapping")
    return {
        "files": [str(f.resolve()) for f in files],
        "model": opts["verifier_model"] or opts["model"],
        "meta": opts["meta_verifications"] if opts["meta"] else 0,
        "templates": templates.digest(),
        **{k: list(opts[k]) if isinstance(opts[k], tuple) else opts[k] for k in keys},
    }


def _check_out(out: Path, resume: bool) -> None:
    if out.is_dir():
        raise InputError(f"--out {out} is a directory; give a file name such as {out}/scores.jsonl")
    if any(parent.is_file() for parent in out.parents):
        raise InputError(f"--out {out}: a parent of it is a file")
    if out.exists() and not resume:
        raise InputError(f"{out} exists; pass --resume to continue it or choose another --out")


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
def score(ctx: click.Context, proof_files: tuple[Path, ...], **opts) -> None:
    """Verify every proof in PROOFS V times; write per-proof scores and, where human grades
    exist, agreement statistics (accuracy, MAE, Pearson, Spearman, confusion, calibration)."""
    if opts["report"]:
        require("matplotlib", "plots")  # before any proof is scored, not after
    reporter = RichReporter()
    items, bad = read_proofs(list(proof_files), parse_map(opts["mapping"]), opts["scale"])
    for record in bad:
        reporter.log(f"skipped {record}")
    items = items[: opts["limit"]] if opts["limit"] else items
    if not items:
        raise InputError(f"no scorable proofs in {', '.join(str(f) for f in proof_files)}")
    out = opts["out"]
    _check_out(out, opts["resume"])
    lean = lean_setup(opts)  # before any model is loaded: no toolchain is one line, exit 2
    for name, scale in guessed_scales(items).items():
        reporter.log(
            f"{name}: no grade scale known, guessed 0-{scale:g} from its grades "
            "(set --scale if that is wrong)"
        )
    run_dir, summary_path = _paths(out)
    templates = Templates.load(opts["template_dir"])
    run = RunDir(run_dir, _fingerprint(proof_files, opts, templates), resume=opts["resume"])
    config = ScoreConfig(
        verifications=opts["verifications"],
        meta=opts["meta_verifications"] if opts["meta"] else 0,
        sampling=sampling_from(opts),
    )
    verifier = build_verifier(opts)
    out.parent.mkdir(parents=True, exist_ok=True)
    records = BatchScorer(verifier, config, run, out, templates, reporter).score(items)
    lean_summary = _lean(lean, items, records, verifier, run, reporter, opts)
    summary = summarize(records, opts["threshold"])
    summary |= {"skipped": len(bad), "bad_records": [str(b) for b in bad]}
    if lean_summary is not None:
        summary["lean"] = lean_summary
    write_json(summary_path, summary)
    print_table(summary)
    if lean_summary is not None:
        click.echo(score_summary(lean_summary))
    if opts["report"]:
        from prover.plots import write_plots

        write_plots(records, summary, opts["report"])
    reporter.log(f"scores: {out}  summary: {summary_path}")
    if opts["graph_db"] is not None:
        from prover.cli.graph import record_into_graph

        record_into_graph(opts["graph_db"], out, reporter)  # with FILE.run/lean.jsonl, if any
    if bad:
        click.echo(
            f"{len(bad)} bad record(s) skipped (listed above); the rest were scored", err=True
        )
        ctx.exit(SKIPPED_EXIT)


def _lean(
    lean: LeanSetup | None,
    items: list,
    records: list[dict],
    verifier: Backend,
    run: RunDir,
    reporter: Reporter,
    opts: dict,
) -> dict | None:
    """With --lean: cross-check every scored proof with the verifier's model (the one model
    this command loads), give each record (and its line in --out) its `lean` and
    `disagreement` fields, and return the Lean part of the summary."""
    if lean is None:
        return None
    targets = score_targets(items, records)
    found = check_proofs(lean, targets, verifier, sampling_from(opts), run, reporter)
    lean_summary = attach_to_scores(records, found, opts["threshold"])
    write_jsonl(opts["out"], records)
    return lean_summary


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
