"""`prover solve` and `prover verify`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import click

from prover.cli.options import (
    build_backends,
    default_run_dir,
    model_options,
    problem_option,
    sampling_from,
)
from prover.cli.output import render_solutions, render_verification
from prover.loop import Loop, LoopConfig
from prover.progress import RichReporter
from prover.prompts import Templates
from prover.rundir import RunDir
from prover.scoring import verify_proofs
from prover.texinput import read_problems, read_text, select_problem

FORMATS = click.Choice(["md", "tex", "json"])


def _fingerprint(problems, opts: dict, templates: Templates) -> dict:
    """Settings a resumed run must share with the run it continues."""
    digest = hashlib.sha256(repr(templates).encode()).hexdigest()[:16]
    keys = ("model", "verifier_model", "proofs", "verifications", "top_k")
    return {
        "problems": [p.text for p in problems],
        **{k: opts[k] for k in keys},
        "templates": digest,
    }


@click.command()
@click.argument("problem_file", metavar="PROBLEM.tex", type=click.Path(path_type=Path))
@model_options
@click.option(
    "--proofs",
    "-P",
    type=click.IntRange(1),
    default=8,
    show_default=True,
    help="Proofs generated per problem in each round.",
)
@click.option(
    "--top-k",
    "-K",
    type=click.IntRange(1),
    default=2,
    show_default=True,
    help="Best proofs (by mean score, then self-score) kept for refinement.",
)
@click.option(
    "--rounds",
    "-R",
    type=click.IntRange(0),
    default=2,
    show_default=True,
    help="Refinement rounds after the first generation.",
)
@problem_option("Solve only the K-th problem of the file (default: all).")
@click.option(
    "--format",
    "fmt",
    type=FORMATS,
    default="md",
    show_default=True,
    help="Output format of the best proof on stdout.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Run directory (default: runs/solve-<name>-<time>).",
)
@click.option("--resume", is_flag=True, help="Continue the run in --out where it stopped.")
def solve(problem_file: Path, **opts) -> None:
    """Solve the problems in PROBLEM.tex: generate, verify and refine proofs, then print the
    best proof of each problem with its verification summary."""
    problems = select_problem(read_problems(problem_file), opts["problem_k"], problem_file)
    if opts["resume"] and opts["out"] is None:
        raise click.UsageError("--resume needs --out RUN_DIR (the run to continue)")
    templates = Templates.load(opts["template_dir"])
    out = opts["out"] or default_run_dir(str(problem_file), "solve")
    run = RunDir(out, _fingerprint(problems, opts, templates), resume=opts["resume"])
    reporter = RichReporter()
    reporter.log(f"run directory: {out}")
    generator, verifier = build_backends(opts)
    sampling = sampling_from(opts)
    config = LoopConfig(
        proofs=opts["proofs"],
        verifications=opts["verifications"],
        top_k=opts["top_k"],
        rounds=opts["rounds"],
        meta=opts["meta"],
        meta_verifications=opts["meta_verifications"],
        generation=sampling,
        verification=sampling,
    )
    loop = Loop(generator, verifier, config, run, templates, reporter)
    report = loop.solve({str(p.index): p.text for p in problems})
    click.echo(render_solutions(problems, report, opts["fmt"]))
    missing = [e["problem"] for e in report["problems"] if e["best_proof"] is None]
    if missing:
        raise click.ClickException(
            f"no usable proof for problem(s) {', '.join(missing)}: every generation was "
            f"truncated or empty (raise --max-tokens?); details in {out}"
        )


@click.command()
@click.argument("problem_file", metavar="PROBLEM.tex", type=click.Path(path_type=Path))
@click.argument("proof_file", metavar="PROOF.md", type=click.Path(path_type=Path))
@model_options
@problem_option("Which problem of the file the proof is for (needed if it has several).")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["md", "json"]),
    default="md",
    show_default=True,
    help="Output format.",
)
def verify(problem_file: Path, proof_file: Path, **opts) -> None:
    """Verify the proof in PROOF.md of the problem in PROBLEM.tex V times; print the mean
    score and every analysis."""
    problems = select_problem(read_problems(problem_file), opts["problem_k"], problem_file)
    if len(problems) > 1:
        raise click.UsageError(
            f"{problem_file} holds {len(problems)} problems; choose one with --problem K"
        )
    proof = read_text(proof_file).strip()
    if not proof:
        raise click.ClickException(f"{proof_file} is empty: it should hold the proof")
    templates = Templates.load(opts["template_dir"])
    _, verifier = build_backends(opts)
    meta = opts["meta_verifications"] if opts["meta"] else 0
    [result] = verify_proofs(
        verifier,
        [(problems[0].text, proof)],
        opts["verifications"],
        sampling_from(opts),
        templates,
        meta,
    )
    click.echo(render_verification(result.as_dict(), opts["fmt"]))
