"""`prover lean check` and `prover lean formalize` as library calls: a file checked by the
Lean REPL (`check_file`), and the problems of a LaTeX file autoformalized and proved by a
model (`formalize_file`).

Each takes a frozen description of what was asked (`CheckRun`, `FormalizeRun`). A missing
toolchain (without a REPL command), an empty file or a bad problem file is an `InputError`
before any model is loaded. This module does not parse options, print verdicts or choose exit
codes (`prover.cli.lean`), nor formalize or check anything itself (`prover.lean.formalize`,
`prover.lean.repl`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from prover.backends import Sampling
from prover.backends.build import BackendConfig, build_generator
from prover.errors import InputError
from prover.lean.formalize import CrossCheck, LeanTemplates, cross_check
from prover.lean.outcomes import LeanVerdict
from prover.lean.repl import ReplOptions, repl_processes
from prover.parse import split_solution
from prover.texinput import Problem, read_problems, read_text, select_problem


@dataclass(frozen=True)
class CheckRun:
    """What `prover lean check` was asked: a Lean file, the REPL, an optional theorem whose
    axioms must be the standard ones."""

    lean_file: Path
    repl: ReplOptions = field(default_factory=ReplOptions)
    theorem: str | None = None


def check_file(run: CheckRun) -> LeanVerdict:
    """The REPL's verdict on the file; an empty file is an InputError."""
    source = read_text(run.lean_file)
    if not source.strip():
        raise InputError(f"{run.lean_file} is empty")
    with repl_processes(run.repl) as repls:
        return repls.check(source, theorem=run.theorem)


@dataclass(frozen=True)
class FormalizeRun:
    """What `prover lean formalize` was asked: the problems (all of the file, or the K-th),
    an optional informal proof to guide the formal one, the model and the REPL."""

    problem_file: Path
    problem_k: int | None = None
    proof_file: Path | None = None
    backend: BackendConfig = field(default_factory=BackendConfig)
    sampling: Sampling = field(default_factory=Sampling)
    repl: ReplOptions = field(default_factory=ReplOptions)
    attempts: int = 1  # formal proofs sampled per formal statement
    template_dir: str | None = None  # overrides lean_formalize.txt / lean_prove.txt


Formalized = tuple[Problem, CrossCheck]


def formalize_file(
    run: FormalizeRun, on_result: Callable[[Problem, CrossCheck], None] | None = None
) -> list[Formalized]:
    """Each problem's cross-check, in file order; `on_result` sees each as it finishes. The
    REPL is set up (or found missing) before the model is loaded."""
    problems = select_problem(read_problems(run.problem_file), run.problem_k, run.problem_file)
    informal = _informal_proof(run.proof_file, problems, run.problem_file)
    templates = LeanTemplates.load(run.template_dir)
    results = []
    with repl_processes(run.repl) as repls:
        backend = build_generator(run.backend)
        for problem in problems:
            result = cross_check(
                problem.text,
                informal,
                backend,
                repls,
                templates=templates,
                sampling=run.sampling,
                attempts=run.attempts,
            )
            if on_result is not None:
                on_result(problem, result)
            results.append((problem, result))
    return results


def _informal_proof(path: Path | None, problems: list[Problem], problem_file: Path) -> str | None:
    if path is None:
        return None
    if len(problems) > 1:
        raise InputError(
            f"{problem_file} holds {len(problems)} problems; choose one with --problem"
        )
    return split_solution(read_text(path))[0]
