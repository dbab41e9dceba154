"""`prover solve` and `prover verify`: options in, one call to `prover.solving`, the result
rendered on stdout (`prover.cli.output`).

`solve --lean` cross-checks each problem's best proof in Lean after the loop
(`prover.lean.crosscheck`); the informal loop itself does not change. This module does not
read problems, build backends or write run directories.
"""

from __future__ import annotations

from pathlib import Path

import click

from prover.cli.lean import lean_config, lean_options
from prover.cli.options import backend_config, model_options, problem_option, sampling_from
from prover.cli.output import render_solutions, render_verification
from prover.lean.crosscheck import solve_summary
from prover.loop import LoopConfig
from prover.progress import RichReporter
from prover.solving import SolveRun, VerifyRun, solve_file, verify_file

FORMATS = click.Choice(["md", "tex", "json"])


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
def solve(problem_file: Path, problem_k: int | None, fmt: str, out: Path | None, resume: bool,
          graph_db: Path | None, reuse: bool, **opts) -> None:  # fmt: skip
    """Solve the problems in PROBLEM.tex: generate, verify and refine proofs, then print the
    best proof of each problem with its verification summary."""
    run = SolveRun(
        problem_file,
        problem_k=problem_k,
        backend=backend_config(opts),
        loop=loop_config(opts),
        template_dir=opts["template_dir"],
        out=out,
        resume=resume,
        graph_db=graph_db,
        reuse=reuse,
        lean=lean_config(opts),
    )
    solved = solve_file(run, RichReporter())
    click.echo(render_solutions(solved.problems, solved.report, fmt))
    if solved.lean_checked and fmt != "json":  # JSON has it in each problem
        click.echo(solve_summary(solved.report, fmt))
    if solved.failure is not None:
        raise click.ClickException(solved.failure)


def loop_config(opts: dict) -> LoopConfig:
    """The loop's settings of the solve options (one sampling for generation and
    verification)."""
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
def verify(problem_file: Path, proof_file: Path, problem_k: int | None, fmt: str, **opts) -> None:
    """Verify the proof in PROOF.md of the problem in PROBLEM.tex V times; print the mean
    score and every analysis."""
    run = VerifyRun(
        problem_file,
        proof_file,
        problem_k=problem_k,
        backend=backend_config(opts),
        verifications=opts["verifications"],
        meta=opts["meta"],
        meta_verifications=opts["meta_verifications"],
        sampling=sampling_from(opts),
        template_dir=opts["template_dir"],
    )
    click.echo(render_verification(verify_file(run, RichReporter()), fmt))
