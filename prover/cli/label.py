"""`prover label`: auto-label proofs by scaled verification (n analyses, m meta-verifications
of each issue-finding analysis, k valid lowest-score analyses for a label); the rules live in
`verifier_train.v2.autolabel`. This command only parses options and files and reports."""

from __future__ import annotations

from pathlib import Path

import click

from prover.backends import Backend
from prover.cli.options import build_verifier, model_options, proof_set_options, sampling_from
from prover.cli.score import SKIPPED_EXIT, _check_out, _paths
from prover.errors import InputError
from prover.progress import RichReporter
from prover.prompts import Templates
from prover.proofsets import parse_map, read_proofs
from prover.rundir import RunDir, write_json


def label_options(func):
    """The options of `prover score` (same names, same backends) less --meta/--no-meta:
    labelling always meta-verifies."""
    func = model_options(func)
    # click collects an option per decorator in __click_params__; drop the one that does not apply
    func.__click_params__ = [p for p in func.__click_params__ if p.name != "meta"]
    return func


def _out(files: tuple[Path, ...], out: Path | None) -> Path:
    if out is not None:
        return out
    if len(files) > 1:
        raise InputError("several PROOFS files: name the output with --out")
    return files[0].with_name(files[0].name.removesuffix(".jsonl") + ".labels.jsonl")


def _fingerprint(files: tuple[Path, ...], opts: dict, templates: Templates) -> dict:
    """Settings a resumed run must share with the run it continues."""
    keys = ("verifications", "meta_verifications", "min_valid", "temperature", "top_p")
    return {
        "files": [str(f.resolve()) for f in files],
        "verifier": opts["verifier_model"] or opts["model"],
        "meta_verifier": _meta_model(opts),
        "templates": templates.digest(),
        "max_tokens": opts["max_tokens"],
        "scale": opts["scale"],
        "mapping": list(opts["mapping"]),
        **{k: opts[k] for k in keys},
    }


def _meta_model(opts: dict) -> str:
    return opts["meta_verifier_model"] or opts["verifier_model"] or opts["model"]


def _backends(opts: dict) -> tuple[Backend, Backend]:
    """(verifier, meta-verifier): one model loaded once unless a separate one is named."""
    verifier = build_verifier(opts)
    if _meta_model(opts) == (opts["verifier_model"] or opts["model"]):
        return verifier, verifier
    return verifier, build_verifier(opts | {"verifier_model": _meta_model(opts)})


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
def label(ctx: click.Context, proof_files: tuple[Path, ...], **opts) -> None:
    """Label every proof in PROOFS by scaled verification: -V analyses per proof,
    --meta-verifications of each analysis that finds issues, and a label (0, 0.5 or 1) where
    -k valid analyses agree on the lowest score (1 where none finds an issue); the other
    proofs are marked for a human. n, m and k are not published: the defaults are guesses."""
    from verifier_train.v2.autolabel import AutoLabeler, LabelConfig, summarize

    config = LabelConfig(
        analyses=opts["verifications"],
        meta=opts["meta_verifications"],
        min_valid=opts["min_valid"],
        sampling=sampling_from(opts),
    )
    reporter = RichReporter()
    items, bad = read_proofs(list(proof_files), parse_map(opts["mapping"]), opts["scale"])
    for record in bad:
        reporter.log(f"skipped {record}")
    items = items[: opts["limit"]] if opts["limit"] else items
    if not items:
        raise InputError(f"no proofs to label in {', '.join(str(f) for f in proof_files)}")
    out = _out(proof_files, opts["out"])
    _check_out(out, opts["resume"])
    run_dir, summary_path = _paths(out)
    templates = Templates.load(opts["template_dir"])
    run = RunDir(run_dir, _fingerprint(proof_files, opts, templates), resume=opts["resume"])
    verifier, meta_verifier = _backends(opts)
    out.parent.mkdir(parents=True, exist_ok=True)
    labeler = AutoLabeler(verifier, config, run, out, templates, reporter, meta_verifier)
    summary = summarize(labeler.label(items), [str(b) for b in bad])
    write_json(summary_path, summary)
    click.echo(_summary_line(summary))
    reporter.log(f"labels: {out}  summary: {summary_path}")
    if bad:
        click.echo(
            f"{len(bad)} bad record(s) skipped (listed above); the rest were labelled", err=True
        )
        ctx.exit(SKIPPED_EXIT)


def _summary_line(summary: dict) -> str:
    labels = ", ".join(f"{score}: {count}" for score, count in summary["labels"].items())
    return (
        f"{summary['labelled']} of {summary['proofs']} proofs labelled ({labels}); "
        f"{summary['needs_human']} need a human; {summary['skipped']} bad record(s) skipped"
    )
