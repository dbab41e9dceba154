"""The outcome of one Lean check, as a tagged value: `Proved`, `LeanErrors`, `Timeout` or
`Crashed` (together `LeanVerdict`), plus `LeanMessage`, one message of the Lean REPL.

A REPL process that hangs or dies is an outcome like any other, never an exception:
`ReplProcesses`, which owns the processes, turns it into `Timeout` or `Crashed` and restarts
the process. A proof that elaborates with `sorry` is `LeanErrors` (with `sorry=True`), never
`Proved`.

This module does not talk to Lean; `prover.lean.protocol` builds these values from replies.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LeanMessage:
    """One message of the REPL: `{"severity", "pos": {"line", "column"}, "endPos", "data"}`.
    Lines are 1-based and columns 0-based, as Lean reports them."""

    severity: str  # "error", "warning" or "info"
    data: str
    line: int | None = None
    column: int | None = None

    def render(self, source: str = "") -> str:
        """`FILE:LINE:COL: severity: text`, the form of `lean FILE`'s own messages."""
        where = f"{self.line}:{self.column}" if self.line is not None else "?"
        prefix = f"{source}:{where}" if source else where
        return f"{prefix}: {self.severity}: {self.data}"


@dataclass(frozen=True)
class Proved:
    """Lean accepted the proof: no error, no `sorry` (warnings and infos are kept)."""

    messages: tuple[LeanMessage, ...] = ()
    tag = "proved"


@dataclass(frozen=True)
class LeanErrors:
    """Lean rejected the proof; `sorry` says whether a `sorry` was found (alone or with errors)."""

    messages: tuple[LeanMessage, ...]
    sorry: bool = False
    tag = "errors"

    @property
    def errors(self) -> tuple[LeanMessage, ...]:
        return tuple(m for m in self.messages if m.severity == "error")

    @property
    def only_sorry(self) -> bool:
        """Elaborated except for `sorry`: how a formal statement without proof should look."""
        return self.sorry and not self.errors


@dataclass(frozen=True)
class Timeout:
    """No answer within `seconds`; the REPL process tree was killed (and will be restarted).
    `seconds` is None when the REPL itself gave up ("Operation timed out")."""

    seconds: float | None
    tag = "timeout"


@dataclass(frozen=True)
class Crashed:
    """The REPL process died or broke the protocol (`reason` says how, with its stderr tail)."""

    reason: str
    tag = "crashed"


LeanVerdict = Proved | LeanErrors | Timeout | Crashed


def describe(verdict: LeanVerdict, source: str = "") -> str:
    """A human-readable verdict: one headline, then one line per message."""
    if isinstance(verdict, Timeout):
        if verdict.seconds is None:
            return "timeout: Lean gave up (Operation timed out)"
        return f"timeout: no answer from Lean within {verdict.seconds:g} s"
    if isinstance(verdict, Crashed):
        return f"crashed: {verdict.reason}"
    if isinstance(verdict, Proved):
        head = "proved"
    else:
        head = "not proved: " + ("uses sorry" if verdict.only_sorry else "Lean reports errors")
    return "\n".join([head, *(m.render(source) for m in verdict.messages)])


def to_record(verdict: LeanVerdict) -> dict:
    """A JSON-ready record: {"lean": tag, ...details}."""
    record: dict = {"lean": verdict.tag}
    if isinstance(verdict, (Proved, LeanErrors)):
        record["messages"] = [
            {"severity": m.severity, "line": m.line, "column": m.column, "data": m.data}
            for m in verdict.messages
        ]
    if isinstance(verdict, LeanErrors):
        record["sorry"] = verdict.sorry
    if isinstance(verdict, Timeout):
        record["seconds"] = verdict.seconds
    if isinstance(verdict, Crashed):
        record["reason"] = verdict.reason
    return record
