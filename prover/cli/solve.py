"""`prover solve` and `prover verify`.

`solve --lean` cross-checks each problem's best proof in Lean after the loop
(`prover.lean.crosscheck`); the informal loop itself does not change.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import click

from prover.backends import Backend
from prover.cli.lean import lean_options, lean_setup
from prover.cli.options import (
    build_backends,
    build_verifier,
    default_run_dir,
    model_options,
    problem_option,
    sampling_from,
)
from prover.cli.output import render_solutions, render_verification
from prover.errors import InputError
from prover.lean.crosscheck import (
    LeanSetup,
    attach_to_report,
    check_proofs,
    solve_summary,
    solve_targets,
)
from prover.loop import Loop, LoopConfig
from prover.parse import split_solution
from prover.progress import Reporter, RichReporter
from prover.prompts import Templates
from prover.rundir import RunDir
from prover.scoring import verification_report, verify_proofs
from prover.texinput import read_problems, read_text, select_problem

FORMATS = click.Choice(["md", "tex", "json"])


def _fingerprint(problems, opts: dict, templates: Templates) -> dict:
    """Settings a resumed run must share with the run it continues."""
    keys = ("model", "verifier_model", "proofs", "verifications", "top_k")
    return {
        "problems": [p.text for p in problems],
        **{k: opts[k] for k in keys},
        "templates": templates.digest(),
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
@click.option(
    "--graph",
    "graph_db",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Record the run in this proof graph (an SQLite file) when it finishes.",
)
@click.option(
    "--reuse",
    is_flag=True,
    help="Give refinement prompts the verified claims that --graph holds for the same (or a "
    "very similar) problem.",
)
@lean_options
def solve(problem_file: Path, **opts) -> None:
    """Solve the problems in PROBLEM.tex: generate, verify and refine proofs, then print the
    best proof of each problem with its verification summary."""
    problems = select_problem(read_problems(problem_file), opts["problem_k"], problem_file)
    if opts["resume"] and opts["out"] is None:
        raise InputError("--resume needs --out RUN_DIR (the run to continue)")
    if opts["reuse"] and opts["graph_db"] is None:
        raise InputError("--reuse needs --graph PATH (the graph to take verified claims from)")
    lean = lean_setup(opts)  # before any model is loaded: no toolchain is one line, exit 2
    templates = Templates.load(opts["template_dir"])
    out = opts["out"] or default_run_dir(str(problem_file), "solve")
    run = RunDir(out, _fingerprint(problems, opts, templates), resume=opts["resume"])
    generator, verifier = build_backends(opts)
    reporter = RichReporter()
    reporter.log(f"run directory: {out}")
    texts = {str(p.index): p.text for p in problems}
    notes = {}
    if opts["reuse"]:
        from prover.cli.graph import reuse_notes

        notes = reuse_notes(opts["graph_db"], texts, reporter)
    loop = Loop(generator, verifier, _loop_config(opts), run, templates, reporter, notes)
    report = loop.solve(texts)
    lean_records = _lean(lean, report, texts, generator, run, reporter, opts)
    if opts["graph_db"] is not None:
        from prover.cli.graph import record_into_graph

        record_into_graph(opts["graph_db"], out, reporter)  # with lean.jsonl, if any
    click.echo(render_solutions(problems, report, opts["fmt"]))
    if lean_records is not None and opts["fmt"] != "json":  # JSON has it in each problem
        click.echo(solve_summary(report, opts["fmt"]))
    missing = [e["problem"] for e in report["problems"] if e["best_proof"] is None]
    if missing:
        raise click.ClickException(_no_proof_message(run, missing))


def _lean(
    lean: LeanSetup | None,
    report: dict,
    texts: dict[str, str],
    generator: Backend,
    run: RunDir,
    reporter: Reporter,
    opts: dict,
) -> dict[str, dict] | None:
    """With --lean: cross-check each best proof with the generator, and put the formal
    verdicts into the report (and `report.json`) beside the informal ones."""
    if lean is None:
        return None
    targets = solve_targets(report, texts)
    records = check_proofs(lean, targets, generator, sampling_from(opts), run, reporter)
    attach_to_report(report, records)
    run.write("report.json", report)
    return records


def _loop_config(opts: dict) -> LoopConfig:
    sampling = sampling_from(opts)
    return LoopConfig(
        proofs=opts["proofs"],
        verifications=opts["verifications"],
        top_k=opts["top_k"],
        rounds=opts["rounds"],
        meta=opts["meta"],
        meta_verifications=opts["meta_verifications"],
        generation=sampling,
        verification=sampling,
    )


def _no_proof_message(run: RunDir, missing: list[str]) -> str:
    """Why problems got no usable proof, from the reasons recorded with their generations."""
    reasons = Counter(p["reason"] for p in run.records("proofs") if p["problem"] in missing)
    why = "; ".join(f"{count}x {reason}" for reason, count in reasons.most_common(3))
    return f"no usable proof for problem(s) {', '.join(missing)} ({why}); details in {run.path}"


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
        raise InputError(
            f"{problem_file} holds {len(problems)} problems; choose one with --problem K"
        )
    # A generator's own output is accepted too: only its solution part is verified.
    proof = split_solution(read_text(proof_file))[0]
    if not proof:
        raise InputError(f"{proof_file} holds no proof")
    templates = Templates.load(opts["template_dir"])
    verifier = build_verifier(opts)
    meta = opts["meta_verifications"] if opts["meta"] else 0
    reporter = RichReporter()
    with reporter.stage("verify", opts["verifications"]) as progress:
        [stats] = verify_proofs(
            verifier,
            [(problems[0].text, proof)],
            opts["verifications"],
            sampling_from(opts),
            templates,
            meta,
            progress,
        )
    click.echo(render_verification(verification_report(stats), opts["fmt"]))
