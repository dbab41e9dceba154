"""The old home of `--lean` on solve and score, kept only until `prover/cli/score.py` and
`prover/cli/solve.py` import from the new ones: the library part is `prover.lean.crosscheck`,
the options and `lean_setup` are in `prover.cli.lean`, and the atomic JSONL rewrite is
`prover.rundir.write_jsonl`. Delete this module with those two imports.
"""

from __future__ import annotations

from typing import Any

from prover.lean.crosscheck import (
    LEAN_KIND,
    LeanSetup,
    Target,
    attach_to_report,
    attach_to_scores,
    check_proofs,
    disagreement,
    lean_record,
    lean_status,
    score_summary,
    score_targets,
    solve_summary,
    solve_targets,
)
from prover.rundir import write_jsonl as rewrite_jsonl


def __getattr__(name: str) -> Any:
    """`lean_options` and `lean_setup`, from `prover.cli.lean` when first asked for (an import
    at the top would import `prover.cli`, whose commands import this module)."""
    if name in ("lean_options", "lean_setup"):
        from prover.cli import lean

        return getattr(lean, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "LEAN_KIND",
    "LeanSetup",
    "Target",
    "attach_to_report",
    "attach_to_scores",
    "check_proofs",
    "disagreement",
    "lean_record",
    "lean_status",
    "rewrite_jsonl",
    "score_summary",
    "score_targets",
    "solve_summary",
    "solve_targets",
]
