"""Parsers for generator, verifier and meta-verifier outputs.

Unparseable output is a value (`score=None` plus a reason), never an exception, so a batch of
nonsense from a small model flows through the loop and the training rewards. `format_reward`
is R_format, shared with the training stages. This module does not grade final answers
against references (that is answer grading) and does not call models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from prover.prompts import (
    EVAL_CLOSING,
    EVAL_OPENING,
    META_CLOSING,
    META_OPENING,
)

SCORES = (0.0, 0.5, 1.0)
THINK_END = "</think>"
BOX = re.compile(r"\\(?:boxed|fbox)\s*\{")

# Section headers: "## Solution", "### Solution:", "**Solution**", "**Solution:**".
_HEADER = r"^[ \t]*(?:#{{1,6}}[ \t]*{name}[ \t]*:?|\*\*[ \t]*{name}[ \t]*:?[ \t]*\*\*:?)[ \t]*$"
SOLUTION_RE = re.compile(_HEADER.format(name="Solution"), re.I | re.M)
SELF_EVAL_RE = re.compile(_HEADER.format(name=r"Self[ \t-]*Evaluation"), re.I | re.M)


def strip_thinking(text: str) -> str:
    """The part after the last `</think>`; the whole text when there is none."""
    return text.rsplit(THINK_END, 1)[-1]


def boxed(text: str) -> list[str]:
    """Contents of every complete `\\boxed{...}` in order, with nested braces matched.

    An unterminated box (a truncated generation) is not returned.
    """
    found = []
    for match in BOX.finditer(text):
        depth, start = 1, match.end()
        for pos in range(start, len(text)):
            char = text[pos]
            if char not in "{}" or _escaped(text, pos):
                continue
            depth += 1 if char == "{" else -1
            if depth == 0:
                found.append(text[start:pos])
                break
    return found


def _escaped(text: str, pos: int) -> bool:
    """Whether text[pos] is escaped: an odd number of backslashes before it (`\\}` is a
    line break followed by a real brace)."""
    slashes = 0
    while pos - slashes > 0 and text[pos - slashes - 1] == "\\":
        slashes += 1
    return slashes % 2 == 1


def last_boxed(text: str) -> str | None:
    """The last non-empty box, the convention of the DeepSeekMath-V2 scripts."""
    values = [b.strip() for b in boxed(text) if b.strip()]
    return values[-1] if values else None


_FRAC = re.compile(r"^\\[dt]?frac\s*\{?\s*(\d+)\s*\}?\s*\{?\s*(\d+)\s*\}?$")


def to_number(value: str) -> float | None:
    """'1', '1.0', '.5', '1/2', '\\frac{1}{2}', '\\dfrac12' -> float; anything else -> None."""
    value = value.strip().strip("$").strip()
    value = re.sub(r"\\text\{\s*\}|\\,|\\!|\s+", "", value)
    frac = _FRAC.match(value)
    try:
        if frac:
            return float(Fraction(int(frac.group(1)), int(frac.group(2))))
        return float(Fraction(value))
    except (ValueError, ZeroDivisionError):
        return None


@dataclass(frozen=True)
class Score:
    """A parsed score in {0, 0.5, 1}, or None with the reason it could not be read."""

    value: float | None
    reason: str | None = None


def unfinished(text: str, finish_reason: str | None) -> str | None:
    """Why an output carries no answer because of how it ended, if it does not."""
    if finish_reason == "prompt_too_long":
        return "prompt too long for the model's context"
    if finish_reason == "length":
        return "truncated generation (hit the token limit)"
    if finish_reason in ("abort", "error"):
        return f"generation ended by the engine ({finish_reason})"
    if "<think>" in text and THINK_END not in text:
        return "unfinished thinking (no </think>)"
    return None


def parse_score(text: str, finish_reason: str | None = None) -> Score:
    """The last non-empty `\\boxed{}` after any `</think>`."""
    if reason := unfinished(text, finish_reason):
        return Score(None, reason)
    raw = last_boxed(strip_thinking(text))
    if raw is None:
        return Score(None, "no \\boxed{} score")
    value = to_number(raw)
    if value is None or not any(abs(value - s) < 1e-9 for s in SCORES):
        return Score(None, f"score {raw[:40]!r} is not one of 0, 0.5, 1")
    return Score(value)


@dataclass(frozen=True)
class Verdict:
    """A verifier's (or meta-verifier's) output: its analysis and score."""

    analysis: str
    score: float | None
    reason: str | None = None


def parse_verdict(text: str, finish_reason: str | None = None) -> Verdict:
    """A verification or a meta-verification: the analysis and its boxed score."""
    score = parse_score(text, finish_reason)
    return Verdict(strip_thinking(text).strip(), score.value, score.reason)


@dataclass(frozen=True)
class Generation:
    """A generator output split into its solution and its self evaluation."""

    solution: str
    self_evaluation: str | None
    self_score: float | None
    reason: str | None = None  # why the output is not a usable proof, or why no self score


def split_solution(text: str) -> tuple[str, str | None]:
    """(solution, self evaluation) from `## Solution ... ## Self Evaluation ...`.

    Lenient on purpose: without a Solution header the text before the self evaluation is the
    solution, so proofs from models not trained on the format can still be verified.
    """
    body = strip_thinking(text)
    evals = list(SELF_EVAL_RE.finditer(body))
    self_eval = body[evals[-1].end() :].strip() if evals else None
    head = body[: evals[-1].start()] if evals else body
    sols = list(SOLUTION_RE.finditer(head))
    solution = head[sols[0].end() :] if sols else head
    return solution.strip(), self_eval


def parse_generation(text: str, finish_reason: str | None = None) -> Generation:
    if reason := unfinished(text, finish_reason):
        return Generation("", None, None, reason)
    solution, self_eval = split_solution(text)
    if not solution:
        return Generation("", self_eval, None, "empty solution")
    if self_eval is None:
        return Generation(solution, None, None, "no self evaluation")
    score = parse_score(self_eval)
    return Generation(solution, self_eval, score.value, score.reason)


def _in_order(text: str, *phrases: str) -> bool:
    pos = 0
    for phrase in phrases:
        pos = text.find(phrase, pos)
        if pos < 0:
            return False
        pos += len(phrase)
    return True


def format_reward(text: str, kind: str, finish_reason: str | None = None) -> float:
    """R_format: 1.0 when the output has the required phrases, in order, and a valid score.

    kind: "generation" (Solution / Self Evaluation headers, evaluation phrases, self score),
    "verification" or "meta" (opening and closing phrases, then the boxed score).
    """
    if unfinished(text, finish_reason):
        return 0.0
    body = strip_thinking(text)
    if kind == "generation":
        ok = bool(SOLUTION_RE.search(body)) and bool(SELF_EVAL_RE.search(body))
        ok = ok and _in_order(body, EVAL_OPENING, EVAL_CLOSING)
        ok = ok and parse_generation(text, finish_reason).self_score is not None
    elif kind in ("verification", "meta"):
        opening, closing = (
            (EVAL_OPENING, EVAL_CLOSING)
            if kind == "verification"
            else (
                META_OPENING,
                META_CLOSING,
            )
        )
        ok = _in_order(body, opening, closing)
        ok = ok and last_boxed(body.rsplit(closing, 1)[-1]) is not None
        ok = ok and parse_score(text, finish_reason).value is not None
    else:
        raise ValueError(f"unknown format kind {kind!r}")
    return 1.0 if ok else 0.0
