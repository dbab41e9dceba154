"""Where the Lean toolchain and the project live, what is missing (`prover lean doctor`), and
`require_lean()`, the one-line failure of commands that need Lean.

The project is `lean/` at the repository root (Mathlib and the REPL, pinned by its
`lakefile.toml` and `lean-toolchain`), or `$PROVER_LEAN_PROJECT`, or `--project DIR`. This module
only looks at files and PATH; it does not run `lake` or install anything.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from prover.errors import InputError

PROJECT_ENV = "PROVER_LEAN_PROJECT"
REPO_PROJECT = Path(__file__).resolve().parents[2] / "lean"
SETUP = (
    "see lean/README.md: install elan, then run "
    "`lake exe cache get && lake build && lake build repl` in lean/"
)
REPL_BINARY = Path(".lake/packages/REPL/.lake/build/bin/repl")
MATHLIB_OLEANS = (
    Path(".lake/packages/mathlib/.lake/build/lib/lean/Mathlib.olean"),
    Path(".lake/packages/mathlib/.lake/build/lib/Mathlib.olean"),  # layout before Lean 4.14
)


def project_dir(path: str | Path | None = None) -> Path:
    """The Lean project: `path`, else $PROVER_LEAN_PROJECT, else the repository's `lean/`."""
    if path is not None:
        return Path(path)
    if os.environ.get(PROJECT_ENV):
        return Path(os.environ[PROJECT_ENV])
    return REPO_PROJECT


def find_tool(name: str) -> str | None:
    """`name` on PATH, else in elan's default bin directory (a shell may not have it on PATH)."""
    found = shutil.which(name)
    if found:
        return found
    candidate = Path.home() / ".elan" / "bin" / name
    return str(candidate) if candidate.is_file() and os.access(candidate, os.X_OK) else None


@dataclass(frozen=True)
class Check:
    """One line of `prover lean doctor`."""

    name: str
    ok: bool
    detail: str
    hint: str = ""


def doctor(project: Path) -> list[Check]:
    """Everything the cross-checker needs, each present or not (nothing is run)."""
    checks = [_tool("lake", "Lean's build tool"), _tool("lean", "the Lean compiler")]
    elan = find_tool("elan")
    checks.append(
        Check("elan", elan is not None, elan or "not found", "https://github.com/leanprover/elan")
    )
    interact = importlib.util.find_spec("lean_interact") is not None
    checks.append(
        Check(
            "lean-interact",
            interact,
            "importable" if interact else "not installed",
            "pip install 'prover[lean]'; without it the REPL runs as `lake exe repl`",
        )
    )
    return checks + _project_checks(project)


def _tool(name: str, what: str) -> Check:
    found = find_tool(name)
    return Check(name, found is not None, found or f"{what} is not on PATH", SETUP)


def _project_checks(project: Path) -> list[Check]:
    has_project = _has_lakefile(project) and (project / "lean-toolchain").is_file()
    checks = [
        Check(
            "lean project",
            has_project,
            str(project) if has_project else f"{project} has no lakefile or lean-toolchain",
            f"pass --project DIR or set ${PROJECT_ENV}",
        )
    ]
    repl = project / REPL_BINARY
    checks.append(
        Check("REPL", repl.is_file(), str(repl) if repl.is_file() else "not built", SETUP)
    )
    oleans = [project / p for p in MATHLIB_OLEANS if (project / p).is_file()]
    checks.append(
        Check(
            "Mathlib cache",
            bool(oleans),
            str(oleans[0]) if oleans else "Mathlib's .olean files are missing",
            "run `lake exe cache get` in the project",
        )
    )
    return checks


def _has_lakefile(project: Path) -> bool:
    return (project / "lakefile.toml").is_file() or (project / "lakefile.lean").is_file()


def require_lean(project: str | Path | None = None) -> str:
    """The path of `lake`, or an `InputError` (exit 2, one line) when Lean is not installed or
    the project is missing."""
    lake = find_tool("lake")
    if lake is None:
        raise InputError(f"no Lean toolchain: `lake` is not on PATH ({SETUP})")
    where = project_dir(project)
    if not _has_lakefile(where):
        raise InputError(f"no Lean project at {where} (pass --project DIR; {SETUP})")
    return lake
