"""Claim normalization: the canonical text under which a claim is stored once, and its id.

Two claims are the same claim when they differ only in
- whitespace (runs of it outside math; inside math, any that TeX ignores),
- LaTeX spacing (`\\,` `\\;` `\\:` `\\!` `\\ ` `~` `\\quad` `\\qquad`) and sizing (`\\left`,
  `\\right`, `\\bigl` ...; `\\left.` and `\\right.` vanish),
- math delimiters (`\\( \\)`, `\\[ \\]`, `$$` all become `$`), markdown emphasis (`**`, `__`)
  and final punctuation,
- a renaming of single-letter variables: in math, letters are renamed in order of first
  appearance to `a, b, c, ...` (`e` and `i` stay: they are usually constants), so "for all $n$,
  $n^2+n$ is even" and "for all $m$, $m^2+m$ is even" are one claim. Letters inside command
  names and in the arguments of `\\mathbb`, `\\text`, `\\label`, ... are not variables.

This module does not split proofs into claims (`prover.graph.claims`) and does not decide
whether two different statements are equivalent: it is a syntactic canonical form only.
"""

from __future__ import annotations

import hashlib
import re

SPACING = re.compile(r"\\[,;:! ]|\\q?quad\b|~")
SIZING = re.compile(r"\\(?:left|right|[bB]igg?[lrm]?)\b\s*(\.)?")
DISPLAY = re.compile(r"\$\$|\\\[|\\\]|\\\(|\\\)")
EMPHASIS = re.compile(r"\*\*|__")
# Commands whose braced argument is a name, not math: its letters are not variables.
NAME_ARGS = frozenset(
    "mathbb mathcal mathfrak mathscr mathrm mathsf mathtt mathbf text textbf textit textrm "
    "operatorname begin end label ref eqref tag".split()
)
KEEP = frozenset("ei")  # Euler's number and the imaginary unit
CANONICAL = "abcdfghjklmnopqrstuvwxyz"  # e and i left out: they are kept as they are


def canonical_math_delimiters(text: str) -> str:
    return DISPLAY.sub("$", text)


def strip_spacing(text: str) -> str:
    """Drop LaTeX spacing and delimiter sizing commands (`\\left.` is no delimiter at all)."""
    text = SPACING.sub(" ", text)
    return SIZING.sub("", text)


def split_math(text: str) -> list[tuple[bool, str]]:
    """[(is_math, segment), ...] on `$` delimiters (an escaped `\\$` is a dollar sign)."""
    parts = re.split(r"(?<!\\)\$", text)
    return [(k % 2 == 1, part) for k, part in enumerate(parts)]


def _squeeze_math(math: str) -> str:
    """Whitespace TeX ignores in math goes; one space stays where it ends a command before a
    letter (`\\cdot x`), since there it is part of the syntax."""
    pieces = math.split()
    out = pieces[0] if pieces else ""
    for piece in pieces[1:]:
        out += " " if re.search(r"\\[a-zA-Z]+$", out) and piece[0].isalpha() else ""
        out += piece
    return out


def rename_variables(segments: list[tuple[bool, str]]) -> list[tuple[bool, str]]:
    """Rename single letters in the math segments, in order of first appearance."""
    names: dict[str, str] = {}

    def rename(letter: str) -> str:
        if letter in KEEP:
            return letter
        if letter not in names:
            k = len(names)
            names[letter] = CANONICAL[k] if k < len(CANONICAL) else f"v_{{{k}}}"
        return names[letter]

    return [(is_math, _rename_math(seg, rename) if is_math else seg) for is_math, seg in segments]


_TOKEN = re.compile(r"\\[a-zA-Z]+|\\.|[a-zA-Z]|[^\\a-zA-Z]+")


def _rename_math(math: str, rename) -> str:
    out, pos = [], 0
    while pos < len(math):
        token = _TOKEN.match(math, pos)
        text = token.group(0)
        pos = token.end()
        if text.startswith("\\") and text[1:] in NAME_ARGS:
            argument, pos = _braced(math, pos)
            out.append(text + argument)
        elif len(text) == 1 and text.isalpha():
            out.append(rename(text))
        else:
            out.append(text)
    return "".join(out)


def _braced(text: str, pos: int) -> tuple[str, int]:
    """The `{...}` group starting at text[pos] (spaces first allowed), and the index after it;
    nothing when no group starts there."""
    start = pos
    while pos < len(text) and text[pos] == " ":
        pos += 1
    if pos >= len(text) or text[pos] != "{":
        return "", start
    depth = 0
    for end in range(pos, len(text)):
        depth += {"{": 1, "}": -1}.get(text[end], 0)
        if depth == 0:
            return text[start : end + 1], end + 1
    return text[start:], len(text)


def normalize(text: str, rename: bool = True) -> str:
    """The canonical form of a claim (see the module docstring)."""
    text = strip_spacing(canonical_math_delimiters(text))
    text = EMPHASIS.sub("", text)
    segments = [
        (is_math, _squeeze_math(seg) if is_math else re.sub(r"\s+", " ", seg))
        for is_math, seg in split_math(text)
    ]
    if rename:
        segments = rename_variables(segments)
    joined = "".join(f"${seg}$" if is_math else seg for is_math, seg in segments)
    return re.sub(r"\s+", " ", joined).strip().rstrip(".;:,").strip()


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def claim_id(text: str) -> str:
    return "claim:" + digest(normalize(text))


def problem_id(text: str) -> str:
    return "problem:" + digest(normalize(text))


def proof_id(problem_text: str, solution: str) -> str:
    """A proof is its text for its problem: the same proof of the same problem, from any run,
    is one node (whitespace differences aside)."""
    body = re.sub(r"\s+", " ", solution).strip()
    return "proof:" + digest(problem_id(problem_text) + "\n" + body)
