"""The Lean REPL's JSON protocol (leanprover-community/repl): requests, replies, verdicts.

Requests are JSON objects sent on stdin, each followed by a blank line:
`{"cmd": CODE}` (a new environment; the only form that may `import`), `{"cmd": CODE, "env": N}`
(run in environment N), `{"tactic": TAC, "proofState": N}` (tactic mode, on a proof state a
`sorry` reported), `{"pickleTo": PATH, "env": N}` and `{"unpickleEnvFrom": PATH}`.

Each reply is one JSON object followed by a blank line (the REPL pretty-prints it over several
lines; strings escape their newlines, so a blank line only ever ends a reply):
`{"env": N, "messages": [{"severity", "pos", "endPos", "data"}], "sorries": [{"pos", "endPos",
"goal", "proofState"}]}` for commands (empty lists are left out), `{"proofState": N, "goals":
[...], "proofStatus": "Completed" | "Incomplete: ..."}` for tactics, and `{"message": TEXT}`
for a request the REPL refused ("Unknown environment.", "Lean error: ...", "Operation timed
out"). Shapes are from the REPL's `REPL/Main.lean` and its `test/*.expected.out` transcripts.

This module does not own processes (`prover.lean.transport`, `prover.lean.repl` do).
"""

from __future__ import annotations

import json
import re

from prover.lean.outcomes import LeanErrors, LeanMessage, LeanVerdict, Proved, Timeout

SORRY_WARNING = re.compile(r"declaration uses ['`]sorry['`]")
# `#print axioms NAME` answers "'NAME' depends on axioms: [a, b]" or "... any axioms".
AXIOMS = re.compile(r"^'(?P<name>[^']+)' (?:depends on axioms: \[(?P<axioms>[^\]]*)\]|does not)")
STANDARD_AXIOMS = frozenset({"propext", "Classical.choice", "Quot.sound"})
LEAN_TIMEOUT = "Operation timed out"  # the REPL's own answer when a tactic's timeout ran out


class ProtocolError(ValueError):
    """A reply that is not a JSON object (the process is then treated as crashed)."""


# ---------------------------------------------------------------- requests


def command(code: str, env: int | None = None) -> dict:
    """Run `code` (declarations, `#eval`s...) in environment `env`, or a new one."""
    return {"cmd": code} if env is None else {"cmd": code, "env": env}


def tactic(text: str, proof_state: int) -> dict:
    return {"tactic": text, "proofState": proof_state}


def pickle_env(path: str, env: int) -> dict:
    return {"pickleTo": path, "env": env}


def unpickle_env(path: str) -> dict:
    return {"unpickleEnvFrom": path}


def encode(request: dict) -> bytes:
    """One request on the wire: single-line JSON and the blank line that ends it."""
    return (json.dumps(request, ensure_ascii=False) + "\n\n").encode("utf-8")


# ---------------------------------------------------------------- replies


def reply_end(buffer: bytes | bytearray) -> int | None:
    """Where the first complete reply in `buffer` ends (after its blank line), or None."""
    start = len(buffer) - len(bytes(buffer).lstrip())
    end = buffer.find(b"\n\n", start)
    return None if start == len(buffer) or end < 0 else end + 2


def decode(text: str) -> dict:
    """The JSON object of one reply. Stray lines a REPL build prints before it are skipped."""
    text = text.strip()
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = _last_object(text)
    if not isinstance(value, dict):
        raise ProtocolError(
            f"the REPL answered with something other than a JSON object: {text!r:.200}"
        )
    return value


def _last_object(text: str):
    starts = [m.start() for m in re.finditer(r"^\{", text, re.M)]
    for start in reversed(starts):
        try:
            return json.loads(text[start:])
        except json.JSONDecodeError:
            continue
    raise ProtocolError(f"the REPL answered with text that is not JSON: {text!r:.200}")


def messages(reply: dict, line_offset: int = 0) -> tuple[LeanMessage, ...]:
    """The reply's messages; `line_offset` maps lines back when a header was stripped."""
    out = []
    for m in reply.get("messages") or []:
        pos = m.get("pos") or {}
        line = pos.get("line")
        out.append(
            LeanMessage(
                severity=str(m.get("severity", "error")),
                data=str(m.get("data", "")),
                line=None if line is None else line + line_offset,
                column=pos.get("column"),
            )
        )
    return tuple(out)


def verdict(reply: dict, line_offset: int = 0) -> LeanVerdict:
    """The verdict on a command reply: errors or a `sorry` reject it, anything else proves it."""
    if set(reply) == {"message"}:
        return refusal(reply["message"])
    found = messages(reply, line_offset)
    sorry = bool(reply.get("sorries")) or any(
        m.severity == "warning" and SORRY_WARNING.search(m.data) for m in found
    )
    if sorry or any(m.severity == "error" for m in found):
        return LeanErrors(found, sorry=sorry)
    return Proved(found)


def refusal(message: str) -> LeanVerdict:
    """A `{"message": ...}` reply: the REPL's own timeout, else an error."""
    if message.strip() == LEAN_TIMEOUT:
        return Timeout(seconds=None)
    return LeanErrors((LeanMessage("error", message),))


def step_verdict(reply: dict) -> LeanVerdict:
    """The verdict on a tactic reply: only `"proofStatus": "Completed"` proves the goal."""
    if set(reply) == {"message"}:
        return refusal(reply["message"])
    found = messages(reply)
    status = str(reply.get("proofStatus", ""))
    if status == "Completed" and not any(m.severity == "error" for m in found):
        return Proved(found)
    note = LeanMessage("error", f"proof status: {status or 'unknown'}")
    return LeanErrors((*found, note), sorry="sorry" in status or bool(reply.get("sorries")))


def axioms_used(reply: dict, name: str) -> frozenset[str] | None:
    """The axioms `#print axioms name` reported, or None when the reply does not say."""
    for m in messages(reply):
        match = AXIOMS.match(m.data)
        if match and match["name"].split(".")[-1] == name.split(".")[-1]:
            listed = match["axioms"] or ""
            return frozenset(a.strip() for a in listed.split(",") if a.strip())
    return None


def axiom_verdict(
    proof: LeanVerdict, axioms: frozenset[str] | None, allowed: frozenset[str]
) -> LeanVerdict:
    """`proof` downgraded to `LeanErrors` when the theorem rests on `sorryAx` or an axiom
    outside `allowed` (an `axiom` the proof declared itself, `Lean.ofReduceBool`...)."""
    if not isinstance(proof, Proved):
        return proof
    if axioms is None:
        note = LeanMessage("error", "`#print axioms` gave no answer for the theorem")
        return LeanErrors((*proof.messages, note))
    extra = sorted(axioms - allowed)
    if not extra:
        return proof
    note = LeanMessage("error", f"the theorem depends on axioms outside the trusted set: {extra}")
    return LeanErrors((*proof.messages, note), sorry="sorryAx" in extra)
