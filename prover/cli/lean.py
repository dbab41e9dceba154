"""`prover lean`: optional Lean 4 cross-checking (`doctor`, `check`, `formalize`), and the
Lean options of every command: the REPL options here, and `--lean` with its settings on
`prover solve` and `prover score` (`lean_options`, `lean_config`).

Thin commands over `prover.lean` (`prover.lean.commands` does what `check` and `formalize`
do). `check` and `formalize` need a Lean toolchain (`lake`) and the
project in `lean/`; without one they stop with one line and exit 2, unless `--repl-command`
names a REPL to run instead. Exit codes: 0 proved (doctor: everything present), 1 not proved
(doctor: something missing), 2 unusable input or no toolchain.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path

import click

from prover.cli.options import backend_config, backend_options, problem_option, sampling_from
from prover.lean import Proved, describe, doctor, project_dir, to_record
from prover.lean.commands import CheckRun, FormalizeRun, check_file, formalize_file
from prover.lean.crosscheck import LeanOptions
from prover.lean.repl import ReplOptions


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


def repl_config(opts: dict) -> ReplOptions:
    """The REPL options of `prover lean check` and `formalize`."""
    return ReplOptions(
        project=opts["project"],
        repl_command=opts["repl_command"],
        timeout=opts["timeout"],
        workers=opts["workers"],
        header=opts["header"],
        memory_mb=opts["memory_mb"],
    )


def lean_config(opts: dict) -> LeanOptions:
    """`--lean` and its settings on solve and score."""
    repl = ReplOptions(opts["lean_project"], opts["lean_repl_command"], opts["lean_timeout"])
    return LeanOptions(opts["lean"], repl, opts["lean_attempts"])


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
def check(ctx: click.Context, lean_file: Path, theorem: str | None, fmt: str, **opts) -> None:
    """Check FILE.lean with the Lean REPL: exit 0 when it is proved (no error, no sorry)."""
    verdict = check_file(CheckRun(lean_file, repl_config(opts), theorem))
    if fmt == "json":
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
def formalize(problem_file: Path, problem_k: int | None, proof_file: Path | None, attempts: int,
              template_dir: str | None, fmt: str, **opts) -> None:  # fmt: skip
    """Autoformalize PROBLEM.tex into Lean theorems with the model, then try to prove them."""
    run = FormalizeRun(
        problem_file,
        problem_k=problem_k,
        proof_file=proof_file,
        backend=backend_config(opts),
        sampling=sampling_from(opts),
        repl=repl_config(opts),
        attempts=attempts,
        template_dir=template_dir,
    )

    def show(problem, result) -> None:  # each problem as soon as it is done
        click.echo(_render(problem.index, result, fmt))

    results = formalize_file(run, on_result=show)
    failed = [str(problem.index) for problem, result in results if not result.proved]
    if failed:
        raise click.ClickException(f"not proved in Lean: problem(s) {', '.join(failed)}")


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
