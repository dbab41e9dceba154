"""LeanDojo adapter: check tactic proofs of one theorem inside a traced repository, behind the
same `check(source) -> LeanVerdict` interface as `ReplProcesses` (extra `leandojo`).

`DojoChecker(DojoTheorem(repo, "Foo/Bar.lean", "Foo.bar"))` opens a `lean_dojo.Dojo` on the
theorem once (LeanDojo replaces its proof by its own REPL tactic) and runs each checked source,
a tactic block, from the initial proof state. LeanDojo owns that process: its timeouts and
crashes come back as `Timeout` and `Crashed`, and the Dojo is reopened on the next check.
The repository must already be traced (`lean_dojo.trace`), which needs `lake` and network
access. This module does not formalize statements: the theorem is the repository's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prover.errors import BackendError, require
from prover.lean.outcomes import Crashed, LeanErrors, LeanMessage, LeanVerdict, Proved, Timeout

EXTRA = "leandojo"


@dataclass(frozen=True)
class DojoTheorem:
    """A theorem of a local git repository: the repository, its file and its full name."""

    repo: Path
    file_path: str
    full_name: str


class DojoChecker:
    """Tactic proofs of one theorem, checked through LeanDojo."""

    def __init__(self, theorem: DojoTheorem, timeout: int = 600):
        self.theorem = theorem
        self.timeout = timeout
        self._dojo: Any = None
        self._context: Any = None
        self._initial: Any = None

    def _open(self, lean_dojo: Any) -> None:
        repo = lean_dojo.LeanGitRepo.from_path(self.theorem.repo)
        target = lean_dojo.Theorem(repo, self.theorem.file_path, self.theorem.full_name)
        self._context = lean_dojo.Dojo(target, timeout=self.timeout)
        try:
            self._dojo, self._initial = self._context.__enter__()
        except lean_dojo.DojoInitError as exc:
            self._context = None
            raise BackendError(f"LeanDojo could not open {self.theorem.full_name}: {exc}") from exc

    def check(self, source: str, theorem: str | None = None) -> LeanVerdict:
        """The verdict on a tactic proof of the theorem (`theorem`, if given, must name it)."""
        lean_dojo = require("lean_dojo", EXTRA)
        if theorem is not None and theorem != self.theorem.full_name:
            raise BackendError(f"this checker proves {self.theorem.full_name}, not {theorem}")
        if self._dojo is None:
            self._open(lean_dojo)
        try:
            result = self._dojo.run_tac(self._initial, source.strip())
        except lean_dojo.DojoTacticTimeoutError:
            self.close()
            return Timeout(float(self.timeout))
        except lean_dojo.DojoCrashError as exc:
            self.close()
            return Crashed(f"LeanDojo crashed: {exc}")
        return _verdict(lean_dojo, result)

    def close(self) -> None:
        context, self._context, self._dojo = self._context, None, None
        if context is not None:
            context.__exit__(None, None, None)

    def __enter__(self) -> DojoChecker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _verdict(lean_dojo: Any, result: Any) -> LeanVerdict:
    """LeanDojo's `TacticResult` as a verdict: only `ProofFinished` is a proof."""
    if isinstance(result, lean_dojo.ProofFinished):
        return Proved()
    if isinstance(result, lean_dojo.ProofGivenUp):
        return LeanErrors((LeanMessage("error", "the proof uses sorry"),), sorry=True)
    if isinstance(result, lean_dojo.LeanError):
        return LeanErrors((LeanMessage("error", result.error),))
    goals = getattr(result, "pp", str(result))
    return LeanErrors((LeanMessage("error", f"unsolved goals\n{goals}"),))
