"""Lean source text: import headers, theorem statements, and Lean code in a model's answer.

`ReplProcesses` runs every command in an environment that already imports its header (`import
Mathlib`), so a file's own imports are split off when the header covers them, and message lines
are shifted back by the lines removed. A formal statement is the declaration's signature (up
to its top-level `:=`), renamed to one fixed name so that `#print axioms` can find it and no
Mathlib name clashes; a proof attempt keeps its own body only, after the fixed signature, so a
model cannot prove a different statement.

This module is text processing only: it does not parse Lean (a `:=` inside a string or comment
of a signature can confuse it, and then Lean reports the error) and runs nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

THEOREM_NAME = "formal_statement"

_IMPORT = re.compile(r"^\s*import\s+(.+?)\s*$")
_FENCE = re.compile(r"```[ \t]*(lean4?|)[ \t]*\n(.*?)```", re.S | re.I)
_DECL = re.compile(
    r"^[ \t]*(?:@\[[^\]\n]*\][ \t\n]*)?(?:(?:private|protected|nonrec)[ \t]+)*"
    r"(?P<kind>theorem|lemma|example)\b(?P<name>[ \t]+[^\s:({\[⦃]+)?",
    re.M,
)
_OPEN = "([{⟨⦃"
_CLOSE = ")]}⟩⦄"


@dataclass(frozen=True)
class Imports:
    """A source split into its leading import lines and the rest."""

    modules: tuple[str, ...]
    body: str
    offset: int  # lines removed before `body`

    def covered_by(self, header_modules: tuple[str, ...]) -> bool:
        """Every import is a header module or one of its submodules (`Mathlib.Data.Real`)."""
        return all(
            any(m == h or m.startswith(h + ".") for h in header_modules) for m in self.modules
        )


def split_imports(source: str) -> Imports:
    """Leading blank lines, `--` comments, `/- -/` comments and `import` lines, split off."""
    lines = source.splitlines(keepends=True)
    consumed, modules, in_comment = 0, [], False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if in_comment:
            in_comment = "-/" not in stripped
            continue
        if stripped.startswith("/-"):
            in_comment = "-/" not in stripped[2:]
            continue
        if not stripped or stripped.startswith("--"):
            continue
        match = _IMPORT.match(line)
        if match is None:
            break
        modules.extend(match[1].split())
        consumed = i + 1
    if not modules:
        return Imports((), source, 0)
    while consumed < len(lines) and not lines[consumed].strip():
        consumed += 1  # blank lines after the imports (a comment there may be a docstring)
    return Imports(tuple(modules), "".join(lines[consumed:]), consumed)


# ---------------------------------------------------------------- model answers


def extract_code(text: str) -> str | None:
    """The Lean code of a model's answer: its last ```lean block holding a theorem (else its
    last ```lean block, else its last fenced block holding one), or None."""
    blocks = [(lang.lower(), code.strip()) for lang, code in _FENCE.findall(text)]
    lean = [code for lang, code in blocks if lang.startswith("lean")]
    for candidates in (lean, [code for _, code in blocks]):
        with_decl = [code for code in candidates if _DECL.search(code)]
        if with_decl:
            return with_decl[-1]
    return lean[-1] if lean else None


def signature_end(code: str, start: int) -> int | None:
    """Index of the first `:=` at bracket depth 0 after `start` (a declaration's body), or None."""
    depth = 0
    for i in range(start, len(code) - 1):
        char = code[i]
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(0, depth - 1)
        elif depth == 0 and code.startswith(":=", i):
            return i
    return None


@dataclass(frozen=True)
class Statement:
    """A formal statement: `preamble` (opens, helper definitions) and the renamed signature
    `theorem formal_statement ... : P` (without `:=`)."""

    preamble: str
    signature: str
    name: str = THEOREM_NAME

    @property
    def source(self) -> str:
        return self.with_body("by sorry")

    def with_body(self, body: str) -> str:
        """The statement with a proof body (`by ...` or a term)."""
        parts = [self.preamble.strip(), f"{self.signature} := {body.strip()}"]
        return "\n\n".join(p for p in parts if p) + "\n"


def parse_statement(code: str) -> Statement | None:
    """The first theorem/lemma/example of `code` as a `Statement`, or None if there is none."""
    body = split_imports(code).body
    decl = _DECL.search(body)
    if decl is None:
        return None
    end = signature_end(body, decl.end())
    stop = end if end is not None else len(body)
    binders_and_type = body[decl.end() : stop].strip()
    if not binders_and_type:
        return None
    signature = f"theorem {THEOREM_NAME} {binders_and_type}"
    return Statement(preamble=body[: decl.start()].strip(), signature=signature)


def proof_body(code: str) -> str:
    """The proof in a model's answer: the body of its last declaration (after the top-level
    `:=`), or, without a declaration, the whole text as a tactic block."""
    body = split_imports(code).body
    decls = list(_DECL.finditer(body))
    if not decls:
        tactics = body.strip("\n")
        if tactics.lstrip().startswith("by"):
            return tactics.strip()
        return "by\n" + "\n".join("  " + line for line in tactics.splitlines())
    end = signature_end(body, decls[-1].end())
    return "by sorry" if end is None else body[end + 2 :].strip()
