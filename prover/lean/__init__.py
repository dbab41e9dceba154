"""Optional Lean 4 cross-checking: formal statements and proofs judged by the Lean REPL.

- `ReplProcesses` owns the REPL processes (how many, timeouts, restarts, memory caps, one
  Mathlib import per process) and answers `check(source) -> LeanVerdict`;
- verdicts are tagged values: `Proved`, `LeanErrors`, `Timeout`, `Crashed`;
- `cross_check(problem, proof, backend, checker)` autoformalizes a problem with a model and
  tries a formal proof (`prover.lean.formalize`);
- `require_lean()` fails with one line (exit 2) when no toolchain is installed; `doctor()` says
  what is missing; `DojoChecker` checks proofs of theorems in a LeanDojo-traced repository;
- `prover.lean.crosscheck` is `--lean` on solve and score: a run's proofs cross-checked, one
  `lean.jsonl` record each, and where the formal verdict disagrees with the informal one;
- `prover.lean.commands` is `prover lean check` and `prover lean formalize` as library calls.

Importing this package needs neither Lean nor lean-interact; both are looked up when used.
"""

from __future__ import annotations

from prover.lean.formalize import CrossCheck, LeanTemplates, cross_check
from prover.lean.outcomes import (
    Crashed,
    LeanErrors,
    LeanMessage,
    LeanVerdict,
    Proved,
    Timeout,
    describe,
    to_record,
)
from prover.lean.repl import LeanSetupError, ReplConfig, ReplProcesses
from prover.lean.toolchain import doctor, project_dir, require_lean

__all__ = [
    "Crashed",
    "CrossCheck",
    "LeanErrors",
    "LeanMessage",
    "LeanSetupError",
    "LeanTemplates",
    "LeanVerdict",
    "Proved",
    "ReplConfig",
    "ReplProcesses",
    "Timeout",
    "cross_check",
    "describe",
    "doctor",
    "project_dir",
    "require_lean",
    "to_record",
]
