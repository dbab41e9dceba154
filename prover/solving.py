"""`prover solve` and `prover verify` as library calls.

`solve_file(SolveRun)`: read the problems, set up `--lean` (before any model is loaded, so a
missing toolchain is one line), open (or resume) the run directory, build the backends, take
verified claims from a proof graph (`reuse`), run the loop (`prover.loop.Loop`), cross-check
each best proof in Lean, and record the run into the graph. `verify_file(VerifyRun)`: one
proof of one problem verified V times.

The run directory's `run.json` fingerprint (`fingerprint`) is what a resumed run must share
with the run it continues; it must not change, or old run directories stop resuming.

This module does not parse options or render results (`prover.cli.solve`,
`prover.cli.output`), nor generate, verify or refine proofs itself (`prover.loop`,
`prover.scoring`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from prover.backends import Backend, Sampling
from prover.backends.build import BackendConfig, build_backends, build_verifier
from prover.errors import InputError
from prover.lean.crosscheck import (
    LeanOptions,
    LeanSetup,
    attach_to_report,
    check_proofs,
    setup_lean,
    solve_targets,
)
from prover.loop import Loop, LoopConfig
from prover.parse import split_solution
from prover.progress import Reporter
from prover.prompts import Templates
from prover.rundir import RunDir
from prover.runpaths import default_run_dir
from prover.runrecords import PROOFS, RunRecords
from prover.scoring import verification_report, verify_proofs
from prover.texinput import Problem, read_problems, read_text, select_problem


@dataclass(frozen=True)
class SolveRun:
    """What `prover solve` was asked."""

    problem_file: Path
    problem_k: int | None = None  # only the K-th problem of the file (None: all)
    backend: BackendConfig = field(default_factory=BackendConfig)
    loop: LoopConfig = field(default_factory=LoopConfig)
    template_dir: str | None = None
    out: Path | None = None  # None: runs/solve-<name>-<time>
    resume: bool = False
    graph_db: Path | None = None  # record the finished run in this proof graph
    reuse: bool = False  # refinement prompts get the graph's verified claims
    lean: LeanOptions = field(default_factory=LeanOptions)


@dataclass(frozen=True)
class Solved:
    """What a solve produced: the report (also `report.json`), with each best proof's Lean
    record when `lean_checked`; `failure` says why problems got no usable proof (None when
    every problem has one)."""

    problems: list[Problem]
    report: dict
    run_dir: Path
    lean_checked: bool
    failure: str | None


def fingerprint(problems: list[Problem], run: SolveRun, templates: Templates) -> dict:
    """Settings a resumed run must share with the run it continues."""
    return {
        "problems": [p.text for p in problems],
        "model": run.backend.model,
        "verifier_model": run.backend.verifier_model,
        "proofs": run.loop.proofs,
        "verifications": run.loop.verifications,
        "top_k": run.loop.top_k,
        "templates": templates.digest(),
    }


def _check(run: SolveRun) -> None:
    if run.resume and run.out is None:
        raise InputError("--resume needs --out RUN_DIR (the run to continue)")
    if run.reuse and run.graph_db is None:
        raise InputError("--reuse needs --graph PATH (the graph to take verified claims from)")


def solve_file(run: SolveRun, reporter: Reporter | None = None) -> Solved:
    """Solve (or resume solving) the problems of `run.problem_file` into a run directory."""
    reporter = reporter or Reporter()
    problems = select_problem(read_problems(run.problem_file), run.problem_k, run.problem_file)
    _check(run)
    lean = setup_lean(run.lean, run.template_dir)  # before any model is loaded
    templates = Templates.load(run.template_dir)
    out = run.out or default_run_dir(str(run.problem_file), "solve")
    run_dir = RunDir(out, fingerprint(problems, run, templates), resume=run.resume)
    generator, verifier = build_backends(run.backend)
    reporter.log(f"run directory: {out}")
    texts = {str(p.index): p.text for p in problems}
    notes = _reuse_notes(run, texts, reporter)
    loop = Loop(generator, verifier, run.loop, run_dir, templates, reporter, notes)
    report = loop.solve(texts)
    lean_checked = lean is not None
    if lean is not None:
        _cross_check(lean, report, texts, generator, run.loop.generation, run_dir, reporter)
    if run.graph_db is not None:
        from prover.graph.hooks import record_into_graph

        record_into_graph(run.graph_db, out, reporter)  # with lean.jsonl, if any
    missing = [e["problem"] for e in report["problems"] if e["best_proof"] is None]
    failure = _no_proof_message(loop.records, missing) if missing else None
    return Solved(problems, report, out, lean_checked, failure)


def _reuse_notes(run: SolveRun, texts: dict[str, str], reporter: Reporter) -> dict[str, str]:
    """With `reuse`: {problem id: the graph's verified claims for its refinement prompts}."""
    if not run.reuse or run.graph_db is None:
        return {}
    from prover.graph.hooks import reuse_notes

    return reuse_notes(run.graph_db, texts, reporter)


def _cross_check(
    lean: LeanSetup,
    report: dict,
    texts: dict[str, str],
    generator: Backend,
    sampling: Sampling,
    run_dir: RunDir,
    reporter: Reporter,
) -> None:
    """Cross-check each best proof with the generator, and put the formal verdicts into the
    report (and `report.json`) beside the informal ones."""
    targets = solve_targets(report, texts)
    records = check_proofs(lean, targets, generator, sampling, run_dir, reporter)
    attach_to_report(report, records)
    run_dir.write("report.json", report)


def _no_proof_message(records: RunRecords, missing: list[str]) -> str:
    """Why problems got no usable proof, from the reasons recorded with their generations
    (as the loop holds them in memory)."""
    reasons = Counter(p.reason for p in records.get(PROOFS) if p.problem in missing)
    why = "; ".join(f"{count}x {reason}" for reason, count in reasons.most_common(3))
    path = records.run.path
    return f"no usable proof for problem(s) {', '.join(missing)} ({why}); details in {path}"


@dataclass(frozen=True)
class VerifyRun:
    """What `prover verify` was asked: one proof of one problem, verified `verifications`
    times (and its issue-finding analyses meta-verified with `meta`)."""

    problem_file: Path
    proof_file: Path
    problem_k: int | None = None
    backend: BackendConfig = field(default_factory=BackendConfig)
    verifications: int = 4
    meta: bool = False
    meta_verifications: int = 1
    sampling: Sampling = field(default_factory=Sampling)
    template_dir: str | None = None


def verify_file(run: VerifyRun, reporter: Reporter | None = None) -> dict:
    """The verification report of the proof: its mean score and every analysis. A
    generator's own output is accepted too: only its solution part is verified."""
    reporter = reporter or Reporter()
    problems = select_problem(read_problems(run.problem_file), run.problem_k, run.problem_file)
    if len(problems) > 1:
        raise InputError(
            f"{run.problem_file} holds {len(problems)} problems; choose one with --problem K"
        )
    proof = split_solution(read_text(run.proof_file))[0]
    if not proof:
        raise InputError(f"{run.proof_file} holds no proof")
    templates = Templates.load(run.template_dir)
    verifier = build_verifier(run.backend)
    meta = run.meta_verifications if run.meta else 0
    with reporter.stage("verify", run.verifications) as progress:
        [stats] = verify_proofs(
            verifier,
            [(problems[0].text, proof)],
            run.verifications,
            run.sampling,
            templates,
            meta,
            progress,
        )
    return verification_report(stats)
