"""`prover lean`: optional Lean 4 cross-checking (`doctor`, `check`, `formalize`), and the
Lean options of every command: the REPL options here, and `--lean` with its settings on
`prover solve` and `prover score` (`lean_options`, `lean_setup`).

Thin commands over `prover.lean`. `check` and `formalize` need a Lean toolchain (`lake`) and the
project in `lean/`; without one they stop with one line and exit 2, unless `--repl-command`
names a REPL to run instead. Exit codes: 0 proved (doctor: everything present), 1 not proved
(doctor: something missing), 2 unusable input or no toolchain.
"""

from __future__ import annotations

import functools
import json
import shlex
from collections.abc import Callable
from pathlib import Path

import click

from prover.cli.options import backend_options, build_generator, problem_option, sampling_from
from prover.errors import InputError
from prover.lean import (
    LeanTemplates,
    Proved,
    ReplConfig,
    ReplProcesses,
    cross_check,
    describe,
    doctor,
    project_dir,
    require_lean,
    to_record,
)
from prover.lean.crosscheck import LeanSetup
from prover.parse import split_solution
from prover.texinput import read_problems, read_text, select_problem


def project_option(prefix: str = "") -> Callable:
    return click.option(
        f"--{prefix}project",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Lean project with Mathlib and the REPL (default: $PROVER_LEAN_PROJECT, else lean/).",
    )


def repl_options(prefix: str = "") -> list[Callable]:
    """Where the REPL runs and how long a check may take: `--project`, `--repl-command` and
    `--timeout` for `prover lean`, the same behind `--lean-` on solve and score."""
    return [
        project_option(prefix),
        click.option(
            f"--{prefix}repl-command",
            default=None,
            help="Run this REPL command line in the project instead of lean-interact or "
            "`lake exe repl` (then `lake` need not be on PATH).",
        ),
        click.option(
            f"--{prefix}timeout",
            type=click.FloatRange(0, min_open=True),
            default=120.0,
            show_default=True,
            help="Seconds per Lean check; a check that passes it is a `timeout`, and its "
            "process is killed and restarted.",
        ),
    ]


def attempts_option(prefix: str = "") -> Callable:
    return click.option(
        f"--{prefix}attempts",
        type=click.IntRange(1),
        default=1,
        show_default=True,
        help="Formal proofs sampled per formal statement.",
    )


PROCESS_OPTIONS = [
    click.option(
        "--memory-mb",
        type=click.IntRange(0),
        default=16384,
        show_default=True,
        help="Address-space cap per REPL process in MiB (0: none).",
    ),
    click.option(
        "--workers",
        type=click.IntRange(1),
        default=None,
        help="REPL processes (default: the cores, at most one per 8 GiB of memory).",
    ),
    click.option(
        "--header",
        default="import Mathlib",
        show_default=True,
        help="Imported once per process; every command runs in its environment.",
    ),
]

# `--lean` and its settings on `prover solve` and `prover score`.
LEAN_OPTIONS = [
    click.option(
        "--lean",
        is_flag=True,
        help="Cross-check in Lean 4: the model states the problem as a Lean theorem and "
        "writes a formal proof, which the Lean REPL checks. Needs a Lean toolchain "
        "(`prover lean doctor`) or --lean-repl-command.",
    ),
    *repl_options("lean-"),
    attempts_option("lean-"),
]


def _apply(options: list[Callable], func: Callable) -> Callable:
    """Decorate `func` with `options`, the first listed first in `--help`."""
    return functools.reduce(lambda f, option: option(f), reversed(options), func)


def lean_repl_options(func: Callable) -> Callable:
    """The options of `prover lean check` and `formalize`: the REPL and its processes."""
    return _apply([*repl_options(), *PROCESS_OPTIONS], func)


def lean_options(func: Callable) -> Callable:
    """The options of `--lean` on solve and score."""
    return _apply(LEAN_OPTIONS, func)


def repl_processes(
    project: Path | None, repl_command: str | None, timeout: float, **settings
) -> ReplProcesses:
    """The REPL processes of the options (none started yet); no toolchain (and no REPL
    command) is an InputError, and so is a REPL command that is not there."""
    command = tuple(shlex.split(repl_command or ""))
    if not command:
        require_lean(project)
    config = ReplConfig(
        project=project_dir(project), command=command or None, timeout=timeout, **settings
    )
    return ReplProcesses(config)


def _repls(opts: dict) -> ReplProcesses:
    return repl_processes(
        opts["project"],
        opts["repl_command"],
        opts["timeout"],
        size=opts["workers"],
        header=opts["header"],
        memory_mb=opts["memory_mb"] or None,
    )


def lean_setup(opts: dict) -> LeanSetup | None:
    """None without `--lean`. Call it before loading a model: a missing toolchain, a REPL
    command that is not there or a bad template fails here, with one line (exit 2)."""
    if not opts["lean"]:
        for name in ("lean_repl_command", "lean_project"):
            if opts[name] is not None:
                raise InputError(f"--{name.replace('_', '-')} needs --lean")
        return None
    # One process: proofs are checked one after another (the model writes them in turn), and
    # each extra process would import Mathlib again.
    repls = repl_processes(
        opts["lean_project"], opts["lean_repl_command"], opts["lean_timeout"], size=1
    )
    templates = LeanTemplates.load(opts.get("template_dir"))
    return LeanSetup(repls, templates, opts["lean_attempts"])


@click.group(name="lean")
def lean() -> None:
    """Cross-check with Lean 4 (optional; needs a Lean toolchain, see lean/README.md)."""


@lean.command(name="doctor")
@project_option()
@click.pass_context
def doctor_command(ctx: click.Context, project: Path | None) -> None:
    """Report what Lean cross-checking needs and what is missing (exit 1 if anything is)."""
    checks = doctor(project_dir(project))
    for check in checks:
        mark = "ok     " if check.ok else "MISSING"
        hint = "" if check.ok or not check.hint else f"  ({check.hint})"
        click.echo(f"{mark} {check.name:<14} {check.detail}{hint}")
    if not all(check.ok for check in checks):
        ctx.exit(1)


@lean.command(name="check")
@click.argument("lean_file", metavar="FILE.lean", type=click.Path(path_type=Path))
@lean_repl_options
@click.option(
    "--theorem",
    default=None,
    help="Also require this theorem to depend on the standard axioms only (#print axioms).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def check(ctx: click.Context, lean_file: Path, **opts) -> None:
    """Check FILE.lean with the Lean REPL: exit 0 when it is proved (no error, no sorry)."""
    source = read_text(lean_file)
    if not source.strip():
        raise InputError(f"{lean_file} is empty")
    with _repls(opts) as repls:
        verdict = repls.check(source, theorem=opts["theorem"])
    if opts["fmt"] == "json":
        click.echo(json.dumps({"file": str(lean_file), **to_record(verdict)}, ensure_ascii=False))
    else:
        click.echo(describe(verdict, source=str(lean_file)))
    if not isinstance(verdict, Proved):
        ctx.exit(1)


@lean.command(name="formalize")
@click.argument("problem_file", metavar="PROBLEM.tex", type=click.Path(path_type=Path))
@backend_options
@lean_repl_options
@problem_option("Formalize only the K-th problem of the file (default: all).")
@click.option(
    "--proof",
    "proof_file",
    type=click.Path(path_type=Path),
    default=None,
    help="An informal proof (PROOF.md) to guide the formal one (one problem only).",
)
@attempts_option()
@click.option(
    "--templates",
    "template_dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Directory overriding lean_formalize.txt / lean_prove.txt.",
)
@click.option("--format", "fmt", type=click.Choice(["md", "json"]), default="md")
def formalize(problem_file: Path, **opts) -> None:
    """Autoformalize PROBLEM.tex into Lean theorems with the model, then try to prove them."""
    problems = select_problem(read_problems(problem_file), opts["problem_k"], problem_file)
    informal = _informal_proof(opts["proof_file"], problems, problem_file)
    templates = LeanTemplates.load(opts["template_dir"])
    with _repls(opts) as repls:
        backend = build_generator(opts)
        results = []
        for problem in problems:
            result = cross_check(
                problem.text,
                informal,
                backend,
                repls,
                templates=templates,
                sampling=sampling_from(opts),
                attempts=opts["attempts"],
            )
            click.echo(_render(problem.index, result, opts["fmt"]))
            results.append(result)
    failed = [str(p.index) for p, r in zip(problems, results, strict=True) if not r.proved]
    if failed:
        raise click.ClickException(f"not proved in Lean: problem(s) {', '.join(failed)}")


def _informal_proof(path: Path | None, problems: list, problem_file: Path) -> str | None:
    if path is None:
        return None
    if len(problems) > 1:
        raise InputError(
            f"{problem_file} holds {len(problems)} problems; choose one with --problem"
        )
    return split_solution(read_text(path))[0]


def _render(index: int, result, fmt: str) -> str:
    if fmt == "json":
        return json.dumps({"problem": index, **result.to_record()}, ensure_ascii=False)
    parts = [f"# Problem {index}"]
    if result.verdict is None:
        parts.append(f"No formal statement: {result.note}.")
    else:
        code = result.lean_proof or result.statement or ""
        parts.append(f"```lean\n{code.strip()}\n```")
        note = f" ({result.note})" if result.note else ""
        parts.append(f"Lean, {result.stage} stage{note}: {describe(result.verdict)}")
    return "\n\n".join(parts) + "\n"
