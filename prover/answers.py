"""The DeepSeekMath evaluation rules, without sympy: answer extraction, normalisation, and
equality of numbers, tuples, intervals, matrices, equations and sets of answers.

It also decides whether a prediction is a bare answer rather than a model's output
(`reads_as_answer`; the module docstring of `prover.grading` states the rule).

The one sympy-backed step (symbolic equality as the last resort) is passed in as a function,
so the caller decides how to bound its time (`prover.grading` runs it in worker processes).
This module does not call Math-Verify, and does not copy DeepSeekMath bug for bug: exact
numbers compare exactly; the 1e-3 tolerance applies only when a side is written as a decimal.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from prover.parse import BOX, last_boxed

# --- DeepSeekMath answer extraction -------------------------------------------------------

_HOPE_OPEN, _HOPE_CLOSE = "final answer is $", "$. I hope"
_ANSWER_IS = "answer is"
_OUTPUT = "```output"
_LAST_NUMBER = re.compile(r"-?\d*\.?\d+")


def extract_answer(text: str) -> str | None:
    """The answer by the DeepSeekMath priority: the "final answer is $X$. I hope" phrase, the
    last `\\boxed{}`, "the answer is X", program output (a ```output block), the last number.

    A text with a `\\boxed{` but no complete non-empty box has no answer, as in DeepSeekMath.
    """
    if _HOPE_OPEN in text and _HOPE_CLOSE in text:
        after = text.split(_HOPE_OPEN, 1)[1]
        return _clean(after.split(_HOPE_CLOSE, 1)[0].split("\n")[0])
    if BOX.search(text):
        box = last_boxed(text)
        return _clean(" ".join(box.split("\n"))) if box is not None else None
    for finder in (_answer_is, _program_output, _last_number):
        if (raw := finder(text)) is not None:
            return _clean(raw.strip().split("\n")[0])
    return None


def _answer_is(text: str) -> str | None:
    """The text after the last "answer is", in any case (DeepSeekMath looks for "he answer
    is"; this also reads "Final answer is 12" without the "I hope" phrase)."""
    lowered = text.lower()
    if _ANSWER_IS not in lowered:
        return None
    return text[lowered.rindex(_ANSWER_IS) + len(_ANSWER_IS) :]


def _program_output(text: str) -> str | None:
    if _OUTPUT not in text:
        return None
    return text.rsplit(_OUTPUT, 1)[1].split("```", 1)[0].strip() or None


def _last_number(text: str) -> str | None:
    found = _LAST_NUMBER.findall(text.replace(",", ""))
    return found[-1] if found else None


def _clean(raw: str) -> str | None:
    answer = raw.strip().lstrip(":").rstrip(".").rstrip("/").strip().strip("$").strip()
    return answer or None


# --- Bare answers -------------------------------------------------------------------------

# What makes a text an output to extract from: math delimiters, a box, an "answer" phrase
# (also "Answer:"), a code fence. An escaped `\$` is a dollar sign, not a delimiter.
_CUES = re.compile(r"(?<!\\)\$|(?<!\\)\\[(\[]|\\boxed|\\fbox|answer|```", re.IGNORECASE)
_TEXT_GROUP = re.compile(r"\\(?:text[a-z]*|math[a-z]+|mbox|operatorname|begin|end)\s*\{[^{}]*\}")
_COMMAND = re.compile(r"\\[A-Za-z]+")
_LETTERS = re.compile(r"[A-Za-z]{2,}")
_SHORT_PROSE = frozenset(
    "an and are as at be but by can do for get has if in is it its let no not of on or our "
    "so the then thus to was we yes you".split()
)
_MATH_WORDS = frozenset(
    "sqrt square cubic percent radians infinity undefined none arcsin arccos arctan sinh cosh "
    "tanh".split()
)


def reads_as_answer(text: str) -> bool:
    """Whether `text` is a bare answer: it has no extraction cue (`$`, `\\(`, `\\[`,
    `\\boxed`, `\\fbox`, "answer", a code fence), it is one line (or one LaTeX environment,
    such as a matrix over several lines), and it has no prose: one token, or words that are
    all variables, function names or units (outside `\\text{...}`)."""
    text = text.strip()
    if not text or _CUES.search(text):
        return False
    if "\n" in text and not text.startswith("\\begin{"):
        return False
    if not any(char.isspace() for char in text):
        return True
    words = _LETTERS.findall(_COMMAND.sub(" ", _TEXT_GROUP.sub(" ", text)))
    return not any(_is_prose(word.lower()) for word in words)


def _is_prose(word: str) -> bool:
    """A short English word, or a longer word that is no unit or mathematical name."""
    if word in _SHORT_PROSE:
        return True
    return len(word) >= 4 and word not in _MATH_WORDS and not _UNIT.fullmatch(word)


def bare_answer(text: str) -> str | None:
    """A bare answer as the DeepSeekMath rules grade it: the text itself on one line, without
    surrounding `$` or sentence punctuation, and the content of a box that is all of it."""
    answer = _clean(" ".join(text.split("\n")))
    if answer is not None and BOX.match(answer) and answer.endswith("}"):
        return last_boxed(answer)
    return answer


# --- Normalisation and numbers ------------------------------------------------------------

UNITS = (
    r"(?:square\s+)?(?:units?|cm|mm|km|m|meters?|inch(?:es)?|feet|foot|ft|miles?|yards?|"
    r"degrees?|dollars?|cents?|hours?|minutes?|seconds?|days?|weeks?|years?|mph|kg|grams?|"
    r"pounds?|liters?)"
)  # the unit words a number may end with
_UNIT = re.compile(UNITS)
_SUBSTITUTIONS = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"^\\text(?:bf|rm|it)?\{([^{}]*)\}$", r"\1"),  # \text{(B)} -> (B)
        (r"\\[!,;:]|\\displaystyle|\\left\.|\\right\.", ""),
        (r"(?<!\\)\\ ", " "),  # a control space, not the end of a row break "\\ "
        (r"\\[dtc]frac", r"\\frac"),
        (r"\\(?:left|right)(?![a-zA-Z])", ""),
        (r"\^\s*\{?\s*\\circ\s*\}?", ""),
        (r"\\\$|\$", ""),
        (r"\\%", "%"),
        (r"(?<=\S)\s*\\(?:text|mbox)\{[^{}]*\}(?:\^\{?[23]\}?)?$", ""),  # a trailing unit
        (rf"(?<=\d)\s+{UNITS}(?:\^\{{?[23]\}}?)?$", ""),
        (r"^[a-zA-Z]\s*\\in\s*", ""),
        (r"(?<![\\a-zA-Z])inf(?:inity)?(?![a-zA-Z])", r"\\infty"),
        (r"\\frac(\d)(\d)", r"\\frac{\1}{\2}"),
        (r"\\frac(\d)\{", r"\\frac{\1}{"),
        (r"\\frac\{([^{}]*)\}(\d)", r"\\frac{\1}{\2}"),
        (r"\\sqrt(\d+|[a-zA-Z](?![a-zA-Z]))", r"\\sqrt{\1}"),
        (r"(?<![\d.])\.(\d)", r"0.\1"),
        (r"\s+", " "),
        (r" (?![a-zA-Z])|(?<![a-zA-Z]) ", ""),  # keep only spaces that end a control word
        (r"(?:\\\\|,|\.)+$", ""),
        (r"^\(([A-Z])\)$", r"\1"),  # a choice: (B) -> B
    )
)


_PLAIN = re.compile(r"-?\d+(?:\.\d*[1-9])?")  # nothing to normalise: 12, -3, 0.25


@lru_cache(maxsize=4096)
def normalize(answer: str) -> str:
    """The light LaTeX normalisation both sides get before the DeepSeekMath comparison."""
    answer = answer.strip()
    if _PLAIN.fullmatch(answer):
        return answer
    for pattern, replacement in _SUBSTITUTIONS:
        answer = pattern.sub(replacement, answer)
    return answer


@dataclass(frozen=True)
class _Num:
    value: Fraction
    approx: bool  # written as a decimal, so compared with the 1e-3 tolerance


_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_RATIO = re.compile(r"([+-]?)(?:\\frac\{([+-]?\d+)\}\{([+-]?\d+)\}|(\d+)/(\d+))")
_ABS_TOL, _REL_TOL = Fraction(1, 1000), Fraction(1, 10**9)


def _number(text: str) -> _Num | None:
    """'12', '-0.5', '1,000', '3e5', '1/2', '\\frac{1}{2}', '50%' -> a number; else None."""
    percent = text.endswith("%")
    body = text[:-1] if percent else text
    if _THOUSANDS.fullmatch(body):
        body = body.replace(",", "")
    try:
        num = _plain_number(body)
    except ValueError:  # more digits than int() converts (sys.get_int_max_str_digits)
        return None
    if num is None or not percent:
        return num
    return _Num(num.value / 100, num.approx)


def _plain_number(text: str) -> _Num | None:
    if _DECIMAL.fullmatch(text):
        return _Num(Fraction(text), any(c in text for c in ".eE"))
    ratio = _RATIO.fullmatch(text)
    if ratio is None:
        return None
    sign, num, den = (
        ratio.group(1),
        ratio.group(2) or ratio.group(4),
        ratio.group(3) or ratio.group(5),
    )
    if int(den) == 0:
        return None
    return _Num(Fraction(int(num), int(den)) * (-1 if sign == "-" else 1), False)


def _numbers_equal(gold: _Num, pred: _Num) -> bool:
    """Equal to gold, gold/100 or gold*100: exactly, or within 1e-3 when a side is a decimal."""
    approx = gold.approx or pred.approx
    variants = (gold.value, gold.value / 100, gold.value * 100)
    return any(_close(variant, pred.value, approx) for variant in variants)


def _close(a: Fraction, b: Fraction, approx: bool) -> bool:
    if not approx:
        return a == b
    return abs(a - b) <= max(_ABS_TOL, _REL_TOL * max(abs(a), abs(b)))


# --- DeepSeekMath equality ----------------------------------------------------------------

Symbolic = Callable[[str, str], bool]  # sympy equality of two normalised answers, time-bounded


def rules_equal(gold: str, answer: str | None, symbolic: Symbolic) -> bool:
    """The DeepSeekMath verdict for an extracted answer; `symbolic` is the (time-bounded)
    sympy check used as the last resort."""
    if answer is None:
        return False
    return _equal(normalize(gold), normalize(answer), symbolic)


def _equal(gold: str, pred: str, symbolic: Symbolic) -> bool:
    """The DeepSeekMath comparison of two normalised answers; the first route that applies
    decides, and sympy is the last resort."""
    if gold == pred:
        return True
    if not pred or not gold:
        return False
    gold_num, pred_num = _number(gold), _number(pred)
    if gold_num is not None and pred_num is not None:
        return _numbers_equal(gold_num, pred_num)
    for route in (_matrices, _tuples, _equations, _sets):
        verdict = route(gold, pred, symbolic)
        if verdict is not None:
            return verdict
    return _worth_symbolic(gold, pred) and symbolic(gold, pred)


_MATRIX = re.compile(r"\\begin\{[pbv]?matrix\}(.*)\\end\{[pbv]?matrix\}", re.S)
_WORDS = re.compile(r"[A-Za-z]+|.*\\text\{.*")


def _worth_symbolic(gold: str, pred: str) -> bool:
    """Whether sympy could say more: not for words, choices or text."""
    return not (_WORDS.fullmatch(gold) or _WORDS.fullmatch(pred))


def _matrix(text: str) -> list[list[str]] | None:
    found = _MATRIX.fullmatch(text)
    if found is None:
        return None
    rows = [row for row in found.group(1).split("\\\\") if row.strip()]
    return [[cell.strip() for cell in row.split("&")] for row in rows]


def _matrices(gold: str, pred: str, symbolic: Symbolic) -> bool | None:
    """Element-wise, when both are matrices (pmatrix and bmatrix alike)."""
    gold_m, pred_m = _matrix(gold), _matrix(pred)
    if gold_m is None or pred_m is None:
        return None
    if [len(row) for row in gold_m] != [len(row) for row in pred_m]:
        return False
    gold_cells = [cell for row in gold_m for cell in row]
    pred_cells = [cell for row in pred_m for cell in row]
    cells = zip(gold_cells, pred_cells, strict=True)
    return all(_equal(g, p, symbolic) for g, p in cells)


def _split_top(text: str) -> list[str] | None:
    """`text` split at commas outside brackets; None when its brackets do not balance."""
    parts, depth, start = [], 0, 0
    for pos, char in enumerate(text):
        depth += (char in "([{") - (char in ")]}")
        if depth < 0:
            return None
        if char == "," and depth == 0:
            parts.append(text[start:pos])
            start = pos + 1
    parts.append(text[start:])
    return parts if depth == 0 else None


def _bracketed(text: str) -> tuple[str, list[str]] | None:
    """('()', elements) for a tuple or interval such as (1,2) or [0,1); else None."""
    if len(text) < 2 or text[0] not in "([" or text[-1] not in ")]":
        return None
    inner = _split_top(text[1:-1])
    return (text[0] + text[-1], inner) if inner is not None else None


def _tuples(gold: str, pred: str, symbolic: Symbolic) -> bool | None:
    """Element-wise, in order, with the same brackets, when both are tuples or intervals."""
    gold_t, pred_t = _bracketed(gold), _bracketed(pred)
    if gold_t is None or pred_t is None:
        return None
    if gold_t[0] != pred_t[0] or len(gold_t[1]) != len(pred_t[1]):
        return False
    return all(_equal(g, p, symbolic) for g, p in zip(gold_t[1], pred_t[1], strict=True))


def _equations(gold: str, pred: str, symbolic: Symbolic) -> bool | None:
    """`x=3` against `3` compares the right sides (a left side of at most two characters);
    two equations with the same left side compare right sides, others compare lhs - rhs."""
    gold_eq, pred_eq = gold.split("="), pred.split("=")
    if len(gold_eq) == 2 and len(pred_eq) == 2:
        if gold_eq[0] == pred_eq[0]:
            return _equal(gold_eq[1], pred_eq[1], symbolic)
        gold_d, pred_d = f"{gold_eq[0]}-({gold_eq[1]})", f"{pred_eq[0]}-({pred_eq[1]})"
        return symbolic(gold_d, pred_d) or symbolic(f"-({gold_d})", pred_d)
    if len(gold_eq) == 1 and len(pred_eq) == 2 and len(pred_eq[0]) <= 2:
        return _equal(gold, pred_eq[1], symbolic)
    if len(gold_eq) == 2 and len(pred_eq) == 1 and len(gold_eq[0]) <= 2:
        return _equal(gold_eq[1], pred, symbolic)
    return None


def _elements(text: str) -> tuple[list[str], bool]:
    """(elements, explicit): a `\\{...\\}` set, a union, a comma list, or the text alone."""
    if text.startswith("\\{") and text.endswith("\\}"):
        return _split_top(text[2:-2]) or [text], True
    if "\\cup" in text:
        return text.split("\\cup"), True
    parts = _split_top(text)
    return (parts, True) if parts is not None and len(parts) > 1 else ([text], False)


def _sets(gold: str, pred: str, symbolic: Symbolic) -> bool | None:
    """Order-free: every answer on each side matches one on the other (several answers)."""
    (gold_e, gold_x), (pred_e, pred_x) = _elements(gold), _elements(pred)
    if not (gold_x or pred_x):
        return None
    hits = [[_equal(g, p, symbolic) for p in pred_e] for g in gold_e]
    return all(any(row) for row in hits) and all(any(col) for col in zip(*hits, strict=True))
