"""`prover score` as one call: `score_proof_sets(ScoreRun)` reads the proof sets, verifies
every proof V times on `prover.scoring.BatchScorer` (a cut run resumes exactly), cross-checks
the scored proofs in Lean when asked (with the verifier's model, the one model it loads),
and writes the summary of agreement with the human grades beside the output, and the plots
with `report`.

This module does not parse command lines or print the summary table (`prover.cli.score`),
verify proofs itself (`prover.scoring`), or record proofs in the proof graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from prover.agreement import summarize
from prover.backends import Backend
from prover.backends.build import BackendConfig, build_verifier
from prover.batchverify import ProofSetRun, check_out, run_paths
from prover.errors import InputError, require
from prover.lean.crosscheck import (
    LeanOptions,
    LeanSetup,
    attach_to_scores,
    check_proofs,
    score_targets,
    setup_lean,
)
from prover.progress import Reporter
from prover.prompts import Templates
from prover.proofsets import ProofItem, guessed_scales
from prover.rundir import RunDir, write_json, write_jsonl
from prover.scoring import BatchScorer, ScoreConfig


@dataclass(frozen=True)
class ScoreRun:
    """What `prover score` is asked: the proof sets and output, the verifier's model, V and
    the meta-verifications, the pass mark, where to put plots, and the Lean cross-check."""

    proofs: ProofSetRun
    backend: BackendConfig
    scoring: ScoreConfig
    threshold: float = 0.5  # pass mark on [0, 1] for thresholded accuracy
    report: Path | None = None  # PNG plots into this directory
    lean: LeanOptions = field(default_factory=LeanOptions)  # not enabled: no cross-check


@dataclass(frozen=True)
class ScoreResult:
    """A finished scoring run: its files, every proof's record, and the summary."""

    out: Path
    summary_path: Path
    records: list[dict]
    summary: dict  # what `summary_path` holds
    lean: dict | None  # the Lean part of the summary, with a Lean setup
    skipped: int  # bad input records (each logged)


def _fingerprint(run: ScoreRun, templates: Templates) -> dict:
    """Settings a resumed run must share with the run it continues."""
    sampling = run.scoring.sampling
    return {
        "files": run.proofs.resolved(),
        "model": run.backend.verifier_model or run.backend.model,
        "meta": run.scoring.meta,
        "templates": templates.digest(),
        "verifications": run.scoring.verifications,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "max_tokens": sampling.max_tokens,
        "scale": run.proofs.scale,
        "mapping": list(run.proofs.mapping),
    }


def score_proof_sets(run: ScoreRun, reporter: Reporter | None = None) -> ScoreResult:
    """Score every proof of `run.proofs` into its output (resuming with `resume`), then
    summarize. The Lean toolchain is checked before any model is loaded, so a missing one
    fails first. Bad input records are logged."""
    reporter = reporter or Reporter()
    if run.report:
        require("matplotlib", "plots")  # before any proof is scored, not after
    items, bad = run.proofs.read(reporter, "no scorable proofs")
    out = run.proofs.out
    if out is None:
        raise InputError("name the scores file with --out")
    check_out(out, run.proofs.resume)
    setup = setup_lean(run.lean, run.proofs.template_dir)
    for name, scale in guessed_scales(items).items():
        reporter.log(
            f"{name}: no grade scale known, guessed 0-{scale:g} from its grades "
            "(set --scale if that is wrong)"
        )
    run_dir, summary_path = run_paths(out)
    templates = Templates.load(run.proofs.template_dir)
    rundir = RunDir(run_dir, _fingerprint(run, templates), resume=run.proofs.resume)
    verifier = build_verifier(run.backend)
    out.parent.mkdir(parents=True, exist_ok=True)
    records = BatchScorer(verifier, run.scoring, rundir, out, templates, reporter).score(items)
    lean_summary = None
    if setup is not None:
        lean_summary = _lean(run, setup, items, records, verifier, rundir, reporter)
    summary = summarize(records, run.threshold)
    summary |= {"skipped": len(bad), "bad_records": [str(b) for b in bad]}
    if lean_summary is not None:
        summary["lean"] = lean_summary
    write_json(summary_path, summary)
    if run.report:
        from prover.plots import write_plots

        write_plots(records, summary, run.report)
    return ScoreResult(out, summary_path, records, summary, lean_summary, len(bad))


def _lean(
    run: ScoreRun,
    setup: LeanSetup,
    items: list[ProofItem],
    records: list[dict],
    verifier: Backend,
    rundir: RunDir,
    reporter: Reporter,
) -> dict:
    """Cross-check every scored proof with the verifier's model, give each record (and its
    line in the output) its `lean` and `disagreement` fields; the Lean part of the summary."""
    targets = score_targets(items, records)
    found = check_proofs(setup, targets, verifier, run.scoring.sampling, rundir, reporter)
    lean_summary = attach_to_scores(records, found, run.threshold)
    write_jsonl(run.proofs.out, records)
    return lean_summary
