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
- 0.5 "skipped_step": a true step that is not one atomic rewrite (two merged steps, or a step
  line left out so that the next one starts from a state the proof never reached);
- 0 "wrong_step": one state replaced by a false one, the rest unchanged, so the steps into and
  out of it are false; 0 "false_final": every step right, the conclusion states a false claim.

This module does not parse model text or decide labels of arbitrary text (`check`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from verifier_train.toyworld.expr import Node, ToyError, parse, parse_equation, show, show_equation
from verifier_train.toyworld.problems import Problem, State, atomic, endpoints, holds, next_states

KINDS = ("correct", "wrong_step", "skipped_step", "false_final")
SCORES = {"correct": 1.0, "wrong_step": 0.0, "skipped_step": 0.5, "false_final": 0.0}
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
    """`proof` (a correct one) with one flaw of `kind`: wrong_step, skipped_step or
    false_final. ValueError when the kind is unknown or the proof too short for it."""
    if proof.kind != "correct" or not proof.states:
        raise ValueError("only a correct proof can be corrupted")
    makers = {"wrong_step": _wrong_step, "skipped_step": _skipped_step, "false_final": _false}
    if kind not in makers:
        raise ValueError(f"unknown corruption {kind!r}; kinds are {', '.join(makers)}")
    return makers[kind](proof, rng)


# --- Perturbing a state --------------------------------------------------------------------


def _edits(node: Node) -> list[Node]:
    """Trees one small slip away: a literal off by 1 or 2 (a positive one stays positive), or
    a + and - swapped."""
    kind = node[0]
    if kind == "int":
        v = node[1]
        return [("int", v + d if v + d > 0 or v < 0 else v - d) for d in (-2, -1, 1, 2)]
    out: list[Node] = []
    if kind in ("add", "sub"):
        out.append(("sub" if kind == "add" else "add", *node[1:]))
    for i, child in enumerate(node):
        if isinstance(child, tuple):
            out += [node[:i] + (new,) + node[i + 1 :] for new in _edits(child)]
    return out


def _perturb(state: State, rng: random.Random, wrong: Callable[[State], bool]) -> State | None:
    """A random slip of `state` for which `wrong(slip)` holds, or None."""
    candidates = _edits(("eq", *state) if isinstance(state[0], tuple) else state)
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
    """State k replaced by a slip that does not follow from state k-1."""
    family, states = proof.problem.family, _states(proof)
    for k in rng.sample(range(1, len(states)), len(states) - 1):
        slip = _perturb(states[k], rng, lambda s, k=k: not holds(family, states[k - 1], s))
        if slip is not None:
            states[k] = slip
            return _remake(proof, "wrong_step", states, proof.conclusion)
    raise ValueError(f"no wrong step found for {proof.problem.text!r}")


def _skipped_step(proof: ToyProof, rng: random.Random) -> ToyProof:
    """Two steps merged into one, or (chains) one step line left out."""
    family, states = proof.problem.family, _states(proof)
    last = len(states) - 1
    merges = [k for k in range(1, last) if not atomic(family, states[k - 1], states[k + 1])]
    if family == "linear":
        merges.append(last)  # dropping the last equation: the conclusion skips it
    if last < 3 and family != "linear":
        merges = []  # a merged 2-step chain has no atomic step left: it restates the claim
    omits = list(range(1, last + 1)) if family != "linear" and last >= 2 else []
    if not merges and not omits:
        raise ValueError(f"no step to skip in {proof.text!r}")
    if merges and (not omits or rng.random() < 0.5):
        k = rng.choice(merges)
        return _remake(proof, "skipped_step", states[:k] + states[k + 1 :], proof.conclusion)
    k = rng.choice(omits)
    steps = proof.steps[: k - 1] + proof.steps[k:]
    return ToyProof(proof.problem, steps, proof.conclusion, "skipped_step")


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
