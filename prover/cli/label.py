"""`prover label`: auto-label proofs by scaled verification (n analyses, m meta-verifications
of each issue-finding analysis, k valid lowest-score analyses for a label); the rules live in
`verifier_train.v2.autolabel` and the run in `verifier_train.v2.labelrun`. This command only
parses options and files and reports."""

from __future__ import annotations

from pathlib import Path

import click

from prover.cli.options import backend_config, model_options, proof_set_options, sampling_from
from prover.cli.score import SKIPPED_EXIT, proof_set
from prover.progress import RichReporter


def label_options(func):
    """The options of `prover score` (same names, same backends) less --meta/--no-meta:
    labelling always meta-verifies."""
    func = model_options(func)
    # click collects an option per decorator in __click_params__; drop the one that does not apply
    func.__click_params__ = [p for p in func.__click_params__ if p.name != "meta"]
    return func


@click.command(context_settings={"default_map": {"meta_verifications": 3}})
@click.argument(
    "proof_files", metavar="PROOFS...", nargs=-1, required=True, type=click.Path(path_type=Path)
)
@label_options
@click.option(
    "--meta-verifier-model",
    default=None,
    help="Meta-verify with this model (default: the verifier's).",
)
@click.option(
    "-k",
    "--min-valid",
    type=click.IntRange(1),
    default=2,
    show_default=True,
    help="Valid analyses at the lowest score needed for a label (at most -V).",
)
@proof_set_options(
    "Output JSONL, one record per proof (default: PROOFS.labels.jsonl); a FILE.run/ "
    "directory beside it keeps every (meta-)verification, and FILE.summary.json the counts."
)
@click.option(
    "--limit", type=click.IntRange(1), default=None, help="Label only the first N proofs."
)
@click.pass_context
def label(
    ctx: click.Context,
    proof_files: tuple[Path, ...],
    meta_verifier_model: str | None,
    min_valid: int,
    **opts,
) -> None:
    """Label every proof in PROOFS by scaled verification: -V analyses per proof,
    --meta-verifications of each analysis that finds issues, and a label (0, 0.5 or 1) where
    -k valid analyses agree on the lowest score (1 where none finds an issue); the other
    proofs are marked for a human. n, m and k are not published: the defaults are guesses."""
    from verifier_train.v2.autolabel import LabelConfig
    from verifier_train.v2.labelrun import LabelRun, label_proof_sets

    labels = LabelConfig(
        opts["verifications"], opts["meta_verifications"], min_valid, sampling_from(opts)
    )
    run = LabelRun(proof_set(proof_files, opts), backend_config(opts), labels, meta_verifier_model)
    reporter = RichReporter()
    result = label_proof_sets(run, reporter)
    click.echo(_summary_line(result.summary))
    reporter.log(f"labels: {result.out}  summary: {result.summary_path}")
    if result.skipped:
        click.echo(
            f"{result.skipped} bad record(s) skipped (listed above); the rest were labelled",
            err=True,
        )
        ctx.exit(SKIPPED_EXIT)


def _summary_line(summary: dict) -> str:
    labels = ", ".join(f"{score}: {count}" for score, count in summary["labels"].items())
    return (
        f"{summary['labelled']} of {summary['proofs']} proofs labelled ({labels}); "
        f"{summary['needs_human']} need a human; {summary['skipped']} bad record(s) skipped"
    )
