"""`prover label` as one call: `label_proof_sets(LabelRun)` reads the proof sets, labels every
proof by scaled verification on `verifier_train.v2.autolabel.AutoLabeler` (a cut run resumes
exactly), and writes the label counts beside the output.

The verifier and the meta-verifier are one model, loaded once, unless a separate
meta-verifier model is named.

This module does not parse command lines or print (`prover.cli.label`), or hold the rules that
turn analyses into a label (`verifier_train.v2.autolabel`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from prover.backends import Backend
from prover.backends.build import BackendConfig, build_verifier
from prover.batchverify import ProofSetRun, check_out, run_paths
from prover.errors import InputError
from prover.progress import Reporter
from prover.prompts import Templates
from prover.rundir import RunDir, write_json
from verifier_train.v2.autolabel import AutoLabeler, LabelConfig, summarize


@dataclass(frozen=True)
class LabelRun:
    """What `prover label` is asked: the proof sets and output, the verifier's model, a
    separate meta-verifier model (None: the verifier's), and n, m and k."""

    proofs: ProofSetRun
    backend: BackendConfig
    labels: LabelConfig
    meta_verifier_model: str | None = None

    @property
    def verifier_model(self) -> str:
        return self.backend.verifier_model or self.backend.model

    @property
    def meta_model(self) -> str:
        return self.meta_verifier_model or self.verifier_model


@dataclass(frozen=True)
class LabelResult:
    """A finished labelling run: its files and the label counts."""

    out: Path
    summary_path: Path
    summary: dict  # what `summary_path` holds
    skipped: int  # bad input records (each logged)


def default_out(files: tuple[Path, ...], out: Path | None) -> Path:
    """`out`, or PROOFS.labels.jsonl beside the one proof file."""
    if out is not None:
        return out
    if len(files) > 1:
        raise InputError("several PROOFS files: name the output with --out")
    return files[0].with_name(files[0].name.removesuffix(".jsonl") + ".labels.jsonl")


def _fingerprint(run: LabelRun, templates: Templates) -> dict:
    """Settings a resumed run must share with the run it continues."""
    labels, sampling = run.labels, run.labels.sampling
    return {
        "files": run.proofs.resolved(),
        "verifier": run.verifier_model,
        "meta_verifier": run.meta_model,
        "templates": templates.digest(),
        "max_tokens": sampling.max_tokens,
        "scale": run.proofs.scale,
        "mapping": list(run.proofs.mapping),
        "verifications": labels.analyses,
        "meta_verifications": labels.meta,
        "min_valid": labels.min_valid,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "seed": sampling.seed,  # another seed samples other analyses: not the same run
    }


def _backends(run: LabelRun) -> tuple[Backend, Backend]:
    """(verifier, meta-verifier): one model loaded once unless a separate one is named."""
    verifier = build_verifier(run.backend)
    if run.meta_model == run.verifier_model:
        return verifier, verifier
    return verifier, build_verifier(replace(run.backend, verifier_model=run.meta_model))


def label_proof_sets(run: LabelRun, reporter: Reporter | None = None) -> LabelResult:
    """Label every proof of `run.proofs` into its output (resuming with `resume`) and count
    the labels. Bad input records are logged."""
    reporter = reporter or Reporter()
    items, bad = run.proofs.read(reporter, "no proofs to label")
    out = default_out(run.proofs.files, run.proofs.out)
    check_out(out, run.proofs.resume)
    run_dir, summary_path = run_paths(out)
    templates = Templates.load(run.proofs.template_dir)
    rundir = RunDir(run_dir, _fingerprint(run, templates), resume=run.proofs.resume)
    verifier, meta_verifier = _backends(run)
    out.parent.mkdir(parents=True, exist_ok=True)
    labeler = AutoLabeler(verifier, run.labels, rundir, out, templates, reporter, meta_verifier)
    summary = summarize(labeler.label(items), [str(b) for b in bad])
    write_json(summary_path, summary)
    return LabelResult(out, summary_path, summary, len(bad))
