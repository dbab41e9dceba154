"""The exact checker: the label of any proof text for a toy problem, derived from the text alone.

The proof is read in the toy language (see `proofs` for the format; a `## Solution` header, a
`## Self Evaluation` and `<think>` are handled by `prover.parse.split_solution`). It is cut
into links, each one move from a state to the next:
- each step (chains: its left side to its right side; "linear": the previous equation to
  this one);
- a gap, when a chain step does not start where the previous one ended (or step 1 does not
  start at the claim's left side): the proof moves without a step;
- the end, when the steps do not arrive at the claim's right side (the equation to prove).

A link is false when it does not hold: unequal exact values in a chain; in "linear", the new
equation is not implied (implied = a non-zero multiple of the old one, or 0 = 0; no ex falso),
or a side is undefined (1/0, a non-linear equation, sizes past the bounds of `expr`). A link
that holds is valid when it is ONE atomic rewrite of its family (arith: `fold_once`; expand:
`expansion_steps`; linear: `solve_moves`), and skipped otherwise; a gap or an end that holds
is always skipped (an omitted step). The score:
- 0 when any link is false, the conclusion is not the claim to prove (a false final claim
  or a different statement), the text is outside the toy language (garbage, empty, no steps,
  no `Hence <claim>.` line, steps not numbered 1..n), or no step is valid (the proof only
  restates the claim, however it is split);
- 0.5 when some link is skipped and none is false;
- 1 when every link is valid.

Never raises on proof text: garbage is a score of 0 with its reason. Parsing, values and
rewrites are memoised in `expr` (`functools.lru_cache`, 65k entries each, keyed by text or
tree), so a state shared by two steps or by a GRPO group is computed once; 10k distinct proofs
take about 3 s cold and 1.7 s warm on the 2-core CPU.
This module does not generate or corrupt proofs (`proofs`) nor write analyses (`data`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from prover.parse import split_solution
from verifier_train.v2.toyworld.expr import Node, ToyError, parse_equation, show, show_equation
from verifier_train.v2.toyworld.problems import (
    Problem,
    State,
    atomic,
    endpoints,
    holds,
    parse_problem,
)

MAX_SOLUTION_CHARS = 4000
MAX_STEPS = 30
_STEP = re.compile(r"^Step\s+(\d+)\s*[:.]\s*(.*)$", re.I)
_CONCLUSION = re.compile(r"^(?:Hence|Therefore|Thus)[,:]?\s+(.*?)\s*\.?$", re.I)
_RANK = {"valid": 0, "skipped": 1, "false": 2}
_STATUS = ("valid", "skipped", "false")
NO_VALID_STEP = "No step is a single valid rewrite: the proof only restates the claim."


@dataclass(frozen=True)
class ToyVerdict:
    """The exact label, the reasons for it (empty for a correct proof), the status of each
    numbered step (the worst of the step and a gap before it) and of the conclusion."""

    score: float
    reasons: tuple[str, ...]
    steps: tuple[str, ...] = ()  # per step: "valid" | "skipped" | "false"
    conclusion: str = "missing"  # "valid" | "skipped" | "false" | "missing"


@dataclass(frozen=True)
class _Link:
    where: int  # the step number, 0 for the conclusion
    status: str
    reason: str | None = None


def check_proof(problem: Problem | str, proof_text: str) -> ToyVerdict:
    """The exact label of `proof_text` for `problem` (a Problem or its text).

    ValueError when `problem` is not a toy problem (a caller's bug); never on the proof."""
    prob = as_problem(problem)
    try:
        steps, conclusion = read_proof(proof_text)
    except ToyError as exc:
        return ToyVerdict(0.0, (str(exc),))
    return _verdict(_links(prob, steps, conclusion), len(steps))


def as_problem(problem: Problem | str) -> Problem:
    """`problem` itself, or the problem its text states; ValueError when it states none."""
    prob = problem if isinstance(problem, Problem) else parse_problem(problem)
    if prob is None:
        raise ValueError(f"not a toy-world problem: {str(problem)[:80]!r}")
    return prob


# --- Reading the text ----------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    solution = split_solution(text)[0] if isinstance(text, str) else ""
    if not solution:
        raise ToyError("The solution is empty.")
    if len(solution) > MAX_SOLUTION_CHARS:
        raise ToyError(f"The solution is longer than {MAX_SOLUTION_CHARS} characters.")
    return [line.strip() for line in solution.splitlines() if line.strip()]


def _equation(text: str, where: str) -> tuple[Node, Node]:
    try:
        return parse_equation(text)
    except ToyError as exc:
        raise ToyError(f"{where} cannot be read: {exc}.") from None


def _step(number: int, line: str) -> tuple[Node, Node]:
    match = _STEP.match(line)
    if match is None:
        raise ToyError(f"Line {number} is not a step: {line[:40]!r}.")
    if int(match.group(1)) != number:
        raise ToyError(f"The steps are not numbered 1, 2, 3, ... (line {number}).")
    return _equation(match.group(2), f"Step {number}")


def read_proof(text: str) -> tuple[list[tuple[Node, Node]], tuple[Node, Node]]:
    """(the steps' equations, the conclusion's equation); ToyError outside the language."""
    *body, last = _lines(text)
    match = _CONCLUSION.match(last)
    if match is None:
        raise ToyError("There is no conclusion: the last line must be 'Hence <claim>.'")
    if not body:
        raise ToyError("There are no steps: the solution only states a claim.")
    if len(body) > MAX_STEPS:
        raise ToyError(f"There are more than {MAX_STEPS} steps.")
    steps = [_step(i, line) for i, line in enumerate(body, 1)]
    return steps, _equation(match.group(1), "The conclusion")


# --- Links ---------------------------------------------------------------------------------


def _show(state: State) -> str:
    return show_equation(state) if isinstance(state[0], tuple) else show(state)


def _links(prob: Problem, steps: list[tuple[Node, Node]], conclusion: tuple) -> list[_Link]:
    state, _ = endpoints(prob)
    links = []
    for k, step in enumerate(steps, 1):
        if prob.family == "linear":
            links.append(_link(prob, k, state, step))
            state = step
            continue
        lhs, rhs = step
        if lhs != state:
            links.append(_gap(prob, k, state, lhs))
        links.append(_link(prob, k, lhs, rhs))
        state = rhs
    return links + _ending(prob, state, conclusion)


def _holds(prob: Problem, old: State, new: State) -> bool | str:
    """True/False, or the reason the move is undefined (such as a division by zero)."""
    try:
        return holds(prob.family, old, new)
    except ToyError as exc:
        return str(exc)


def _link(prob: Problem, k: int, old: State, new: State) -> _Link:
    true = _holds(prob, old, new)
    if isinstance(true, str):
        return _Link(k, "false", f"Step {k} is false: {true}.")
    if not true:
        if prob.family == "linear":
            return _Link(
                k, "false", f"Step {k} is false: {_show(new)} does not follow from {_show(old)}."
            )
        return _Link(k, "false", f"Step {k} is false: {_show(old)} is not {_show(new)}.")
    if atomic(prob.family, old, new):
        return _Link(k, "valid")
    reason = f"Step {k} skips a step: {_show(old)} to {_show(new)} is not a single rewrite."
    return _Link(k, "skipped", reason)


def _gap(prob: Problem, k: int, old: State, new: State) -> _Link:
    true = _holds(prob, old, new)
    if true is True:
        return _Link(
            k,
            "skipped",
            f"Step {k} skips a step: it starts from {_show(new)}, not from {_show(old)}.",
        )
    return _Link(
        k,
        "false",
        f"Step {k} is false: it starts from {_show(new)}, but {_show(old)} is not {_show(new)}.",
    )


def _ending(prob: Problem, state: State, conclusion: tuple[Node, Node]) -> list[_Link]:
    start, end = endpoints(prob)
    claim = parse_equation(prob.claim)
    if conclusion != claim:
        before = start if prob.family == "linear" else conclusion[0]
        after = conclusion if prob.family == "linear" else conclusion[1]
        what = "is not the claim to prove" if _holds(prob, before, after) is True else "is false"
        return [_Link(0, "false", f"The final claim {show_equation(conclusion)} {what}.")]
    if state == end:
        return []
    true = _holds(prob, state, end)
    status, word = ("skipped", "skips a step") if true is True else ("false", "is false")
    reason = f"The conclusion {word}: the steps end at {_show(state)}, not at {_show(end)}."
    return [_Link(0, status, reason)]


def _verdict(links: list[_Link], n_steps: int) -> ToyVerdict:
    ranks = [0] * (n_steps + 1)  # index 0 is the conclusion
    for link in links:
        ranks[link.where] = max(ranks[link.where], _RANK[link.status])
    reasons = [link.reason for link in links if link.reason]
    worst = max(ranks)
    if worst < 2 and not any(link.status == "valid" for link in links):
        reasons.append(NO_VALID_STEP)
        worst = 2
    score = {0: 1.0, 1: 0.5, 2: 0.0}[worst]
    statuses = tuple(_STATUS[r] for r in ranks[1:])
    return ToyVerdict(score, tuple(reasons), statuses, _STATUS[ranks[0]])
