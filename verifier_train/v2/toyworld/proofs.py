"""Toy proofs: the canonical correct proof of a problem, and its labelled corruptions.

A proof is numbered steps, one per line, then a conclusion:

    Step 1: 3*(4+5)-2 = 3*9-2          (chains: each step rewrites the previous right side)
    Step 2: 3*9-2 = 27-2
    Step 3: 27-2 = 25
    Hence 3*(4+5)-2 = 25.

For "linear" each step is the next equation (`Step 1: 2*x = 11-3`), the first one derived
from the hypothesis. The correct proof takes the generator's atomic rewrite at every state
(`problems.next_states`), so it is fully determined by the problem.

Labels (what `check.check_proof` re-derives from the text alone):
- 1 "correct": every step is one atomic rewrite and the conclusion states the claim;
- 0.5 "skipped_step": two consecutive steps merged into one true step that is not one atomic
  rewrite (never the first or last line dropped, never a chain step starting where the
  previous one did not end: those would show without computing anything);
- 0 "wrong_step": one intermediate state (never the last, which the conclusion repeats)
  replaced by a slip of what its step computed, the rest unchanged, so the steps into and out
  of it are false; the slip changes a number or a sign that the step produced (a literal or
  operation the previous state does not hold as many times), never one copied from the
  previous state, so no string comparison with the previous line gives it away;
- 0 "false_final": every step right, the conclusion states a false claim;
- 0 "slips" (a training drill, never held out): a slip at each of several intermediate
  states, so that most of its lines differ from what their step computes. With one flaw
  per proof, a verifier that copies the proof's line as the line it "expected" is right on
  80% of the step lines of the held-out mix, and a tiny model settles there instead of
  computing (the toy prover wrote `3*(6+3) = 3*8 | 3*8 ok`); with a quarter of the
  training proofs drills (`rows.TRAIN_MIX`) the copy is right on 64%.
- 0 "typos" (a training drill, never held out): like "slips", but each slip is a typo of the
  line's text, the kind the trained generator makes: one digit replaced or two neighbouring
  digits swapped, anywhere in the line, a number copied from the previous line included
  (`9*x-5 = 31` -> `9*x = 13+5`). Planted slips change a value by 1 or 2 at a number the
  step produced, so a verifier trained on them copies the rest of the line from what it
  expected; on the generator's own proofs most of its false passes are such copies.
- 0 "one_typo" (a drill, never held out): one typo at one intermediate state, the rest right;
  the hardest form of "typos" for a verifier that copies what it expected.

A corrupted proof has one step fewer than the correct one only for "skipped_step";
`data.labelled_proof` matches the step counts of all kinds, so length is no cue.

This module does not parse model text or decide labels of arbitrary text (`check`).
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from verifier_train.v2.toyworld.expr import (
    Node,
    ToyError,
    parse,
    parse_equation,
    show,
    show_equation,
)
from verifier_train.v2.toyworld.problems import (
    Problem,
    State,
    atomic,
    endpoints,
    holds,
    next_states,
)

KINDS = ("correct", "wrong_step", "skipped_step", "false_final")
DRILLS = ("slips", "typos", "one_typo")  # training-only kinds
SCORES = {
    "correct": 1.0,
    "wrong_step": 0.0,
    "skipped_step": 0.5,
    "false_final": 0.0,
    "slips": 0.0,
    "typos": 0.0,
    "one_typo": 0.0,
}
SLIP_RATE = 0.6  # of the intermediate states of a "slips" or "typos" proof
MAX_STEPS = 12


@dataclass(frozen=True)
class ToyProof:
    """A proof with its exact label. `states` (correct proofs only) is the derivation."""

    problem: Problem
    steps: tuple[str, ...]
    conclusion: str
    kind: str = "correct"
    states: tuple[str, ...] = ()

    @property
    def score(self) -> float:
        return SCORES[self.kind]

    @property
    def text(self) -> str:
        lines = [f"Step {i}: {step}" for i, step in enumerate(self.steps, 1)]
        return "\n".join([*lines, f"Hence {self.conclusion}."])


def _show_state(state: State) -> str:
    return show_equation(state) if isinstance(state[0], tuple) else show(state)


def _parse_state(problem: Problem, text: str) -> State:
    return parse_equation(text) if problem.family == "linear" else parse(text)


def _steps(problem: Problem, states: list[str]) -> tuple[str, ...]:
    if problem.family == "linear":
        return tuple(states[1:])
    return tuple(f"{a} = {b}" for a, b in zip(states, states[1:], strict=False))


def correct_proof(problem: Problem) -> ToyProof:
    """The canonical proof: the generator's atomic rewrite at every state."""
    state, end = endpoints(problem)
    states = [state]
    while state != end:
        options = next_states(problem.family, state)
        if not options or len(states) > MAX_STEPS:
            raise ValueError(f"no derivation for {problem.text!r}")
        state = options[0]
        states.append(state)
    texts = [_show_state(s) for s in states]
    return ToyProof(problem, _steps(problem, texts), problem.claim, "correct", tuple(texts))


def corrupt(proof: ToyProof, kind: str, rng: random.Random) -> ToyProof:
    """`proof` (a correct one) with the flaw of `kind`: wrong_step, skipped_step, false_final
    or a drill (`DRILLS`). ValueError when the kind is unknown or the proof too short."""
    if proof.kind != "correct" or not proof.states:
        raise ValueError("only a correct proof can be corrupted")
    makers = {
        "wrong_step": _wrong_step,
        "skipped_step": _skipped_step,
        "false_final": _false,
        "slips": _slips,
        "typos": _typos,
        "one_typo": partial(_typos, once=True),
    }
    if kind not in makers:
        raise ValueError(f"unknown corruption {kind!r}; kinds are {', '.join(makers)}")
    return makers[kind](proof, rng)


# --- Perturbing a state --------------------------------------------------------------------


def _tree(state: State) -> Node:
    """An equation as one tree ("eq", left, right); an expression as itself."""
    return ("eq", *state) if isinstance(state[0], tuple) else state


def _items(node: Node) -> list[object]:
    """The labels of a tree's nodes: ("int", v) for a literal, the operation's name otherwise."""
    if node[0] in ("int", "var"):
        return [node]
    return [node[0], *(i for c in node[1:] if isinstance(c, tuple) for i in _items(c))]


def _new_items(old: State, new: State) -> Counter:
    """What `new` holds more times than `old`: the literals and operations a step produced."""
    return Counter(_items(_tree(new))) - Counter(_items(_tree(old)))


def _edits(node: Node, allowed: Counter | None = None) -> list[Node]:
    """Trees one small slip away: a literal off by 1 or 2 (a positive one stays positive), or
    a + and - swapped; with `allowed`, only at literals and operations it holds."""
    kind = node[0]
    label = node if kind in ("int", "var") else kind
    ok = allowed is None or allowed[label] > 0
    if kind == "int":
        v = node[1]
        return [("int", v + d if v + d > 0 or v < 0 else v - d) for d in (-2, -1, 1, 2) if ok]
    out: list[Node] = []
    if kind in ("add", "sub") and ok:
        out.append(("sub" if kind == "add" else "add", *node[1:]))
    for i, child in enumerate(node):
        if isinstance(child, tuple):
            out += [node[:i] + (new,) + node[i + 1 :] for new in _edits(child, allowed)]
    return out


def _perturb(
    state: State,
    rng: random.Random,
    wrong: Callable[[State], bool],
    allowed: Counter | None = None,
) -> State | None:
    """A random slip of `state` for which `wrong(slip)` holds, or None."""
    candidates = _edits(_tree(state), allowed)
    rng.shuffle(candidates)
    for candidate in candidates:
        slip = candidate[1:] if candidate[0] == "eq" else candidate
        try:
            if wrong(slip):
                return slip
        except ToyError:
            continue
    return None


# --- The corruptions -----------------------------------------------------------------------


def _states(proof: ToyProof) -> list[State]:
    return [_parse_state(proof.problem, s) for s in proof.states]


def _remake(proof: ToyProof, kind: str, states: list[State], conclusion: str) -> ToyProof:
    texts = [_show_state(s) for s in states]
    return ToyProof(proof.problem, _steps(proof.problem, texts), conclusion, kind)


def _wrong_step(proof: ToyProof, rng: random.Random) -> ToyProof:
    """State k (an intermediate one) replaced by a slip of what step k produced that does not
    follow from state k-1."""
    family, states = proof.problem.family, _states(proof)
    for k in rng.sample(range(1, len(states) - 1), len(states) - 2):
        allowed = _new_items(states[k - 1], states[k])
        wrong = lambda s, k=k: not holds(family, states[k - 1], s)  # noqa: E731
        slip = _perturb(states[k], rng, wrong, allowed)
        if slip is not None:
            states[k] = slip
            return _remake(proof, "wrong_step", states, proof.conclusion)
    raise ValueError(f"no wrong step found for {proof.problem.text!r}")


def _slips(proof: ToyProof, rng: random.Random) -> ToyProof:
    """Several states slipped (`_slipped`), each by a slip of what its step produced."""

    def slip(old: State, new: State) -> State | None:
        wrong = lambda s: not holds(proof.problem.family, old, s)  # noqa: E731
        return _perturb(new, rng, wrong, _new_items(old, new))

    return _slipped(proof, rng, "slips", slip)


def _typos(proof: ToyProof, rng: random.Random, once: bool = False) -> ToyProof:
    """Several states (`once`: one, the rest right) slipped (`_slipped`), each by a typo of
    its text (`_typo`)."""
    return _slipped(proof, rng, "one_typo" if once else "typos",
                    lambda old, new: _typo(proof.problem, old, _show_state(new), rng),
                    once)  # fmt: skip


def _slipped(
    proof: ToyProof,
    rng: random.Random,
    kind: str,
    slip: Callable[[State, State], State | None],
    once: bool = False,
) -> ToyProof:
    """Each intermediate state replaced, with probability SLIP_RATE (at least one; `once`:
    exactly one), by `slip(previous state as the proof shows it, state)`: one that does not
    follow from it."""
    states = _states(proof)
    inner = range(1, len(states) - 1)
    if once:
        chosen = [rng.choice(inner)] if inner else []
    else:
        chosen = [k for k in inner if rng.random() < SLIP_RATE] or list(inner)[:1]
    slipped = 0
    for k in chosen:
        new = slip(states[k - 1], states[k])
        if new is not None:
            states[k], slipped = new, slipped + 1
    if not slipped:
        raise ValueError(f"no {kind} drill found for {proof.problem.text!r}")
    return _remake(proof, kind, states, proof.conclusion)


def _typo(problem: Problem, old: State, text: str, rng: random.Random) -> State | None:
    """A state whose text is `text` with one digit replaced or two neighbouring digits swapped,
    shown as typed (no leading zero), that does not follow from `old`; None when none does."""
    digits = [i for i, c in enumerate(text) if c.isdigit()]
    edits = [text[:i] + d + text[i + 1 :] for i in digits for d in "0123456789" if d != text[i]]
    edits += [text[:i] + text[i + 1] + text[i] + text[i + 2 :]
              for i in digits if i + 1 in digits and text[i] != text[i + 1]]  # fmt: skip
    rng.shuffle(edits)
    for edit in edits:
        try:
            state = _parse_state(problem, edit)
            if _show_state(state) == edit and not holds(problem.family, old, state):
                return state
        except ToyError:
            continue
    return None


def _skipped_step(proof: ToyProof, rng: random.Random) -> ToyProof:
    """Two consecutive steps merged into one; at least one valid step is left (a proof with
    none only restates the claim, which scores 0)."""
    family, states = proof.problem.family, _states(proof)
    last = len(states) - 1
    merges = [k for k in range(1, last) if not atomic(family, states[k - 1], states[k + 1])]
    if last < 3 or not merges:
        raise ValueError(f"no step to skip in {proof.text!r}")
    k = rng.choice(merges)
    return _remake(proof, "skipped_step", states[:k] + states[k + 1 :], proof.conclusion)


def _false(proof: ToyProof, rng: random.Random) -> ToyProof:
    """Every step kept; the conclusion claims a slip of the claim that is false."""
    family = proof.problem.family
    start, end = endpoints(proof.problem)
    slip = _perturb(end, rng, lambda s: not holds(family, start, s))
    if family == "linear":
        claim = None if slip is None else show_equation(slip)
    else:
        claim = None if slip is None else f"{show(start)} = {show(slip)}"
    if claim is None:
        raise ValueError(f"no false claim found for {proof.problem.text!r}")
    return ToyProof(proof.problem, proof.steps, claim, "false_final")
