"""What a toy-world verifier writes: an analysis that re-derives every step, then the score.

A verifier that states a verdict with no work must decide in one forward pass whether `x = 84/7`
follows from `7*x = 84`; a small model then learns the look of a proof, not its arithmetic.
Here the analysis is where the verification compute is spent, as in DeepSeekMath-V2: for every
step it writes the line that one atomic rewrite of the previous state gives, then copies the
proof's line only up to the first character that differs from it, marking that point with
`#`. Comparing is thereby made explicit, one character at a time (a small model that only
recomputed the line still judged a different line "ok"). When the lines differ it writes the
line two rewrites ahead and compares again: equal means the step skipped one rewrite.
A rewrite that folds an operation on numbers is preceded by that computation (`65+19 -> ...
-> 84:` below, where the proof of `7*x-19 = 65` slips to 85). Without it, a 1M-parameter model
copied the proof's line as the line it "expected" on most steps: with one flaw per proof the
copy is right on most lines. The note puts the number a step produces next to the operation
that produces it, so that computing is the local path. Moves (`x = 84/7`) have no note. In
verifier-only SFT (arith+linear, 600 steps) the notes raised wrong steps caught from 6.1% to
54.5%, and accuracy from 42.5% to 46.0% (benchmarks/RESULTS.md). A sum or difference is
worked in digit columns (`toyworld.columns`): with the result alone the model still copied
the proof's number wherever it could not add.

    Here is my evaluation of the solution:
    Step 1: 7*x = 65+19 | 7*x = 65+19 ok
    Step 2: 65+19 -> 5+9=14, 6+1+1=8 -> 84: 7*x = 84 | 7*x = 8# ;
            65+19 -> 5+9=14, 6+1+1=8 -> 84: x = 84/7 | # false     (one line, wrapped here)
    Step 3: x = 85/7 | x = 85/7 ok
    Step 4: - | # ; - | # false
    Claim: x = 12 | x = 12 ok
    End: x = 12 | x = 12 ok

    Based on my evaluation, the final overall score should be: \\boxed{0}

Line by line: `Step k: [NOTE: ]EXPECTED | COPY WORD`, where EXPECTED is the atomic rewrite of the
previous state (the problem's start for step 1, the proof's own previous line after that, so
a slip is followed through) closest to the proof's line, `-` when none exists; chains write
the whole step `previous = next`. WORD is `ok` (the copy is whole), `skip` or `false`, and is
the exact checker's status of the step (`check.check_proof`), so the analysis never disagrees
with the label. `Claim:` compares the conclusion with the claim to prove, `End:` the last
state with where the proof must arrive. The score follows from the words: 0 with any
`false`, 0.5 with any `skip`, else 1; a proof with no valid step scores 0 and says so.

Quote-first (`quote_first()`, `QUOTE`): each line starts with the proof's line, found by its
`Step k:` label, before the expected line: `Step 2: 7*x = 85 | 65+19 -> ...: 7*x = 84 | 7*x =
8# ; ...`. The copy that marks the difference is then made from the quote, on the same line,
not from the proof far above. A verifier trained on the expected-first lines missed most
skipped steps by writing the step's expected line where the proof's line belongs (it then
finds no difference), or by going on to a step the proof does not have (RESULTS.md); a quote
is a plain look-up, made before the expected line can leak into it, and the proof's end shows
when no `Step k+1:` exists. Measured, it did worse: after 1,200 SFT steps, 75.0% of planted
proofs against 80.5% (skipped steps 47.5% against 70.0%), 85.3% of generator-written ones
against 92.3%, with 28% longer analyses (RESULTS.md). So it is off by default.

`written(meta="worked")` also switches the meta-verifier's reference answers (`META`) from one
sentence to work: the analysis's decisive line re-derived from the proof, as a verifier line
(`toyworld.data.meta_work`). On generator-written proofs it confirms 69.4% of right
issue-finding analyses where one sentence confirmed 7.3%, and 64.4% of wrong ones where one
sentence confirmed 36.4% (RESULTS.md).

This module does not decide labels (`check`) or build datasets (`data`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass

from prover.prompts import EVAL_CLOSING, EVAL_OPENING
from verifier_train.v2.toyworld.check import (
    NO_VALID_STEP,
    ToyVerdict,
    as_problem,
    check_proof,
    read_proof,
)
from verifier_train.v2.toyworld.columns import column_work, one_fact
from verifier_train.v2.toyworld.expr import Node, ToyError, fold_once, show, show_equation
from verifier_train.v2.toyworld.problems import Problem, State, endpoints, holds, next_states

MARK = "#"
NONE = "-"
NOTE_STYLES = ("columns", "results", "none")  # the fold notes: worked, results only, none
NOTES = "columns"  # the style analyses are written in; `fold_notes(style)` changes it
QUOTE = False  # each line starts with the proof's line (`quote_first` changes it)
META_FORMS = ("sentence", "worked")  # a meta answer: one sentence, or the decisive line re-derived
META = "sentence"  # the form meta answers are written in (`toyworld.data.meta_record`)
WORDS = {"valid": "ok", "skipped": "skip", "false": "false", "missing": "false"}
SCORES = {1.0: "1", 0.5: "0.5", 0.0: "0"}


@dataclass(frozen=True)
class Line:
    """One line of work: what was expected, the proof's text, and the verdict word."""

    label: str  # "Step 3", "Claim", "End"
    expected: str
    seen: str
    word: str
    second: str | None = None  # the line two rewrites ahead, when the first differs
    note: str | None = None  # the rewrite's local computation, "59+16 -> 75"
    second_note: str | None = None

    @property
    def text(self) -> str:
        first = _noted(self.note, self.expected)
        quote = f"{self.seen} | " if QUOTE else ""
        head = f"{self.label}: {quote}{first} | {copy_until_differs(self.expected, self.seen)}"
        if self.second is not None:
            second = _noted(self.second_note, self.second)
            head += f" ; {second} | {copy_until_differs(self.second, self.seen)}"
        return f"{head} {self.word}"


@contextmanager
def written(
    notes: str | bool = "columns", quote: bool = False, meta: str = "sentence"
) -> Iterator[None]:
    """Analyses written in note style `notes` (True is "columns", False "none") and, with
    `quote`, quote-first, and meta answers in form `meta` (one of META_FORMS) inside the
    block; every setting is restored after it."""
    global NOTES, QUOTE, META
    if meta not in META_FORMS:
        raise ValueError(f"meta form: {meta!r} is not {' or '.join(META_FORMS)}")
    before, (NOTES, QUOTE, META) = (NOTES, QUOTE, META), (note_style(notes), quote, meta)
    try:
        yield
    finally:
        NOTES, QUOTE, META = before


def fold_notes(style: str | bool) -> AbstractContextManager[None]:
    """Analyses written in another note style inside the block: for v2_verifier_curve.py's
    ablations and for recipes of models trained before the notes or the columns."""
    return written(style, QUOTE, META)


def quote_first(on: bool = True) -> AbstractContextManager[None]:
    """Analyses whose lines start with the proof's line inside the block (see the module
    docstring), for v2_verifier_curve.py's `quote` arm."""
    return written(NOTES, on, META)


def note_style(value: str | bool) -> str:
    """One of NOTE_STYLES for a style or a switch (True is "columns", False "none")."""
    style = "columns" if value is True else "none" if value is False else value
    if style not in NOTE_STYLES:
        raise ValueError(f"fold notes: {value!r} is not true, false, {', '.join(NOTE_STYLES)}")
    return style


def _noted(note: str | None, line: str) -> str:
    return line if note is None else f"{note}: {line}"


def copy_until_differs(expected: str, seen: str) -> str:
    """`seen` whole when it equals `expected`, else its common prefix with `expected` and
    MARK (the first character that differs, the end of a line included)."""
    if seen == expected:
        return seen
    n = 0
    while n < min(len(seen), len(expected)) and seen[n] == expected[n]:
        n += 1
    return seen[:n] + MARK


def closest(options: Sequence[str], seen: str) -> str:
    """The option sharing the longest prefix with `seen` (the first on ties), NONE if none."""
    best, length = NONE, -1
    for option in options:
        n = len(copy_until_differs(option, seen).rstrip(MARK))
        if option == seen:
            return option
        if n > length:
            best, length = option, n
    return best


def _state_text(state: State) -> str:
    return show_equation(state) if isinstance(state[0], tuple) else show(state)


def _redex(old: Node, new: Node) -> tuple[Node, Node]:
    """The smallest subtrees of `old` and `new` where they differ (one path down while a
    single child differs)."""
    while old[0] == new[0] and len(old) == len(new):
        differ = [i for i in range(1, len(old)) if old[i] != new[i]]
        if len(differ) != 1 or not isinstance(old[differ[0]], tuple):
            break
        old, new = old[differ[0]], new[differ[0]]
    return old, new


def note(prob: Problem, old: State, new: State) -> str | None:
    """The local computation of the rewrite `old` -> `new` when it folds an operation
    ("59+16 -> 75"), else None. Written before the expected line, it puts the number the
    step produces right next to the operation that produces it, so the verifier computes it
    where copying the proof's line would be the easier path."""
    pairs = zip(old, new, strict=True) if prob.family == "linear" else [(old, new)]
    parts = [_redex(o, n) for o, n in pairs if o != n]
    folds = [fold_note(o, n) for o, n in parts if fold_once(o) == (n,)]  # o folds to n
    return ", ".join(folds) if NOTES != "none" and folds else None


def fold_note(old: Node, new: Node) -> str:
    """`59+16 -> 75`, with the column work in between for a sum or difference of numbers
    (not for one column of non-negative digits, `7+1`: that work is the fact itself)."""
    head, tail = f"{show(old)} -> ", show(new)
    if NOTES == "columns" and old[0] in ("add", "sub") and old[1][0] == old[2][0] == "int":
        a, op, b = old[1][1], "+" if old[0] == "add" else "-", old[2][1]
        head += "" if one_fact(a, op, b) else f"{column_work(a, op, b)} -> "
    return head + tail


def _text(prob: Problem, old: State, new: State) -> str:
    """`new` as the proof writes it after `old`."""
    if prob.family == "linear":
        return _state_text(new)
    return f"{_state_text(old)} = {_state_text(new)}"


def _options(prob: Problem, state: State, depth: int) -> dict[str, str | None]:
    """{line: note} of the states `depth` (1 or 2) atomic rewrites of `state` give, as the
    proof writes them; the note is that of the last rewrite."""
    pairs = [(state, s) for s in next_states(prob.family, state)]
    if depth == 2:
        pairs = [(s, n) for _, s in pairs for n in next_states(prob.family, s)]
    out: dict[str, str | None] = {}
    for old, new in pairs:  # two paths may reach one line: keep a note if either has one
        line = _text(prob, state, new)
        out[line] = out.get(line) or note(prob, old, new)
    return out


def _step_line(prob: Problem, k: int, state: State, seen: str, status: str) -> Line:
    ones = _options(prob, state, 1)
    first = closest(list(ones), seen)
    if first == seen:
        return Line(f"Step {k}", first, seen, WORDS[status], note=ones.get(first))
    twos = _options(prob, state, 2)
    second = closest(list(twos), seen)
    return Line(f"Step {k}", first, seen, WORDS[status], second, ones.get(first), twos.get(second))


def _ending_lines(prob: Problem, last: State, conclusion: tuple) -> list[Line]:
    _, end = endpoints(prob)
    claim, said = prob.claim, show_equation(conclusion)
    lines = [Line("Claim", claim, said, "ok" if said == claim else "false")]
    word = "ok"
    if last != end:
        try:
            word = "skip" if holds(prob.family, last, end) else "false"
        except ToyError:
            word = "false"
    return [*lines, Line("End", _state_text(end), _state_text(last), word)]


def work_lines(prob: Problem, proof_text: str, verdict: ToyVerdict) -> list[Line]:
    """The lines of work for a proof the checker could read (its verdict has step statuses)."""
    steps, conclusion = read_proof(proof_text)
    state, _ = endpoints(prob)
    lines = []
    for k, (step, status) in enumerate(zip(steps, verdict.steps, strict=True), 1):
        seen = show_equation(step)
        lines.append(_step_line(prob, k, state, seen, status))
        state = _after(prob, step)
    return lines + _ending_lines(prob, state, conclusion)


def _after(prob: Problem, step: tuple[Node, Node]) -> State:
    """The state a proof's step leaves: the equation itself (linear), else its right side."""
    return step if prob.family == "linear" else step[1]


def computed_analysis(
    problem: Problem | str, proof_text: str, verdict: ToyVerdict | None = None
) -> str:
    """The verifier answer for any proof text: the work, then `\\boxed{exact score}`. A text
    outside the toy language gets the checker's reason instead of work. `verdict` is the
    checker's, when the caller has it already."""
    prob = as_problem(problem)
    verdict = verdict or check_proof(prob, proof_text)
    try:
        body = [line.text for line in work_lines(prob, proof_text, verdict)]
    except ToyError:
        body = list(verdict.reasons)
    if NO_VALID_STEP in verdict.reasons:
        body.append(NO_VALID_STEP)
    return render(body, verdict.score)


def render(body: Sequence[str], score: float) -> str:
    """An analysis in the verification template's format."""
    text = "\n".join(body)
    return f"{EVAL_OPENING}\n{text}\n\n{EVAL_CLOSING} \\boxed{{{SCORES[score]}}}"


# --- Reading an analysis back ----------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One comparison on a written analysis line: `[NOTE: ]EXPECTED | COPY`."""

    label: str  # "Step 3", "Claim", "End"
    expected: str
    copy: str
    word: str  # the line's verdict word, shared by its parts


def read_parts(analysis: str) -> list[Part]:
    """The comparisons an analysis wrote, in order, from its `Step k:`, `Claim:` and `End:`
    lines (`Line.text`'s format; other lines are skipped)."""
    parts = []
    for line in analysis.splitlines():
        label, colon, rest = line.strip().partition(": ")
        if not colon or not (label in ("Claim", "End") or label.startswith("Step ")):
            continue
        body, _, word = rest.rpartition(" ")
        for piece in body.split(" ; "):
            left, _, copy = piece.rpartition(" | ")
            parts.append(Part(label, left.rsplit(": ", 1)[-1], copy, word))
    return parts


def quotes_faithfully(problem: Problem | str, proof_text: str, analysis: str) -> bool:
    """Whether every copy an analysis made of the proof is the copy `copy_until_differs` makes
    of the proof's own line, and its `Step` lines name the proof's steps in order (a step named
    again later is not caught).

    A small verifier's commonest false pass is a copy slip: where the proof's line is wrong
    it writes the line it expected in place of the proof's, finds no difference and writes
    `ok` (benchmarks/v2_false_passes.py). Its verdict then rests on a line the proof does not
    have. This re-reads the quotes, not the arithmetic: whether each step holds is still the
    model's call. A proof outside the toy language has no lines an analysis could quote:
    False. (Its reference analysis gives the checker's reason, quotes nothing and scores 0;
    a `Judge` checks only verdicts that credit a proof.) With True, 39 of the 46 wrong proofs
    a quote-checked judge passed in GRPO were such texts (benchmarks/RESULTS.md)."""
    prob = as_problem(problem)
    try:
        steps, conclusion = read_proof(proof_text)
    except ToyError:
        return False
    # The proof's lines as `work_lines` reads them (not its labels: no checking here)
    seen = {f"Step {k}": show_equation(step) for k, step in enumerate(steps, 1)}
    seen |= {"Claim": show_equation(conclusion), "End": _state_text(_after(prob, steps[-1]))}
    parts = read_parts(analysis)
    examined = list(dict.fromkeys(p.label for p in parts if p.label.startswith("Step ")))
    if examined != [f"Step {k}" for k in range(1, len(steps) + 1)]:
        return False
    return all(p.copy == copy_until_differs(p.expected, seen[p.label]) for p in parts)
