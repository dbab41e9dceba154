"""The toy world: determinism, exact labels (generator vs checker on 10k proofs, sympy as an
independent oracle), each corruption's label, garbage and adversarial text, time bounds, and
the prompt formats of the analyses and generations."""

from __future__ import annotations

import random
import re
import string
import time
from collections import Counter

import pytest
import sympy
from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations

from prover.parse import format_reward, parse_generation, parse_score
from verifier_train.v2.rewards import generator_reward, generator_reward_value
from verifier_train.v2.toyworld import (
    FAMILIES,
    KINDS,
    ExactJudge,
    check_proof,
    correct_proof,
    corrupt,
    exact_reward,
    expr,
    generation_text,
    generator_problems,
    judge_hacking_probes,
    labelled_proofs,
    make_problem,
    meta_records,
    parse_problem,
    reference_analysis,
    verifier_records,
)
from verifier_train.v2.toyworld.analysis import (
    computed_analysis,
    fold_notes,
    quote_first,
    quotes_faithfully,
)
from verifier_train.v2.toyworld.columns import column_work, one_fact
from verifier_train.v2.toyworld.expr import ToyError, neg, parse, parse_equation, show, value
from verifier_train.v2.toyworld.proofs import _new_items

CACHED = (
    expr.parse,
    expr.show,
    expr.value,
    expr.fold_once,
    expr.terms,
    expr._flat,
    expr.expansion_steps,
    expr.solve_moves,
)


@pytest.fixture(scope="module")
def many():
    """10k labelled proofs in the default mix (40% correct, 20% of each corruption)."""
    return labelled_proofs(10_000, seed=11)


# --- Determinism and the dataset builders --------------------------------------------------


def test_builders_are_deterministic_in_their_seed():
    assert verifier_records(300, seed=3) == verifier_records(300, seed=3)
    assert verifier_records(300, seed=3) != verifier_records(300, seed=4)
    assert generator_problems(50, seed=1) == generator_problems(50, seed=1)
    assert meta_records(60, seed=2) == meta_records(60, seed=2)
    assert judge_hacking_probes() == judge_hacking_probes()


def test_label_mix_is_exact_and_controllable():
    records = verifier_records(100, seed=0)
    assert [sum(r["score"] == s for r in records) for s in (1.0, 0.5, 0.0)] == [40, 20, 40]
    only_skipped = verifier_records(30, seed=0, mix={"skipped_step": 1.0})
    assert {r["score"] for r in only_skipped} == {0.5}
    halves = verifier_records(10, seed=0, mix={"correct": 1, "false_final": 1})
    assert sorted(r["score"] for r in halves) == [0.0] * 5 + [1.0] * 5
    for bad in ({"bogus": 1.0}, {}, {"correct": -1.0}):
        with pytest.raises(ValueError, match="mix"):
            verifier_records(5, seed=0, mix=bad)


def test_max_chars_bounds_every_correct_proof():
    for max_chars, families in ((85, ("arith", "linear")), (200, FAMILIES)):
        proofs = labelled_proofs(150, 5, {"correct": 1}, families, max_chars)
        assert all(40 <= len(p.text) <= max_chars for p in proofs)
    with pytest.raises(ValueError, match="fits"):
        labelled_proofs(1, seed=0, families=("expand",), max_chars=40)


def test_problem_text_reads_back():
    rng = random.Random(0)
    for family in FAMILIES * 50:
        problem = make_problem(rng, family)
        assert parse_problem(problem.text) == problem
        assert problem.text.startswith(("Show that", "Prove that"))
    assert parse_problem("What is 2+2?") is None
    with pytest.raises(ValueError, match="not a toy-world problem"):
        check_proof("Find all primes.", "Step 1: 1 = 1\nHence 1 = 1.")


# --- Exact labels ---------------------------------------------------------------------------


def test_checker_agrees_with_generator_on_10k_proofs_in_seconds(many):
    for cache in CACHED:  # measure cold: no check result is reused from generation
        cache.cache_clear()
    start = time.perf_counter()
    verdicts = [check_proof(p.problem, p.text) for p in many]
    elapsed = time.perf_counter() - start
    wrong = [(p.kind, p.text, v) for p, v in zip(many, verdicts, strict=True) if v.score != p.score]
    assert not wrong, wrong[:3]
    assert {p.kind for p in many} == set(KINDS)
    assert elapsed < 30, f"10k checks took {elapsed:.1f}s (about 4s on an idle 2-core CPU)"


def test_checker_reads_problem_text_and_full_generations(many):
    for p in many[:600]:
        assert check_proof(p.problem.text, p.text).score == p.score
        assert check_proof(p.problem, generation_text(p)).score == p.score
        assert check_proof(p.problem, f"<think>hmm</think>## Solution\n{p.text}").score == p.score


def test_each_corruption_gives_its_label_and_reason():
    rng = random.Random(1)
    for family in FAMILIES:
        for _ in range(40):
            proof = correct_proof(make_problem(rng, family))
            v = check_proof(proof.problem, proof.text)
            assert (v.score, v.reasons, v.conclusion) == (1.0, (), "valid")
            assert set(v.steps) == {"valid"} and len(v.steps) >= 2
            if len(v.steps) < 3:
                with pytest.raises(ValueError, match="no step to skip"):
                    corrupt(proof, "skipped_step", rng)
                continue
            wrong = check_proof(proof.problem, corrupt(proof, "wrong_step", rng).text)
            assert wrong.score == 0.0 and "false" in wrong.steps
            skipped = check_proof(proof.problem, corrupt(proof, "skipped_step", rng).text)
            assert skipped.score == 0.5 and "skips a step" in " ".join(skipped.reasons)
            assert "false" not in skipped.steps + (skipped.conclusion,)
            final = check_proof(proof.problem, corrupt(proof, "false_final", rng).text)
            assert final.score == 0.0 and set(final.steps) == {"valid"}
            assert final.conclusion == "false" and "is false" in final.reasons[0]
    with pytest.raises(ValueError, match="unknown corruption"):
        corrupt(proof, "typo", rng)
    with pytest.raises(ValueError, match="correct proof"):
        corrupt(corrupt(proof, "wrong_step", rng), "wrong_step", rng)


P_ARITH = "Show that 3*(4+5)-2 = 25."
P_LINEAR = "Prove that if 2*x+3 = 11 then x = 4."
P_EXPAND = "Prove that (x+3)^2 = x^2+6*x+9."


@pytest.mark.parametrize(
    "problem, proof, score, reason",
    [
        (
            P_ARITH,
            "Step 1: 3*(4+5)-2 = 3*9-2\nStep 2: 3*9-2 = 27-2\nStep 3: 27-2 = 25\n"
            "Hence 3*(4+5)-2 = 25.",
            1.0,
            None,
        ),
        # spaces, redundant parentheses and ** do not change a state
        (
            P_ARITH,
            "Step 1: 3 * (4+5) - 2 = (3*9) - 2\nStep 2: 3*9-2 = 27-2\n"
            "Step 3: 27 - 2 = 25\nHence 3*(4 + 5)-2 = 25",
            1.0,
            None,
        ),
        (
            P_ARITH,
            "Step 1: 3*(4+5)-2 = 27-2\nStep 2: 27-2 = 25\nHence 3*(4+5)-2 = 25.",
            0.5,
            "not a single rewrite",
        ),
        (
            P_ARITH,
            "Step 1: 3*(4+5)-2 = 3*9-2\nStep 2: 27-2 = 25\nHence 3*(4+5)-2 = 25.",
            0.5,
            "it starts from 27-2, not from 3*9-2",
        ),
        (
            P_ARITH,
            "Step 1: 3*(4+5)-2 = 3*9-2\nStep 2: 3*9-2 = 28-2\nStep 3: 28-2 = 26\n"
            "Hence 3*(4+5)-2 = 26.",
            0.0,
            "3*9-2 is not 28-2",
        ),
        (
            P_ARITH,
            "Step 1: 3*(4+5)-2 = 3*9-2\nStep 2: 3*9-2 = 27-2\nHence 3*(4+5)-2 = 25.",
            0.5,
            "the steps end at 27-2, not at 25",
        ),
        (
            P_ARITH,
            "Step 1: 3*(4+5)-2 = 3*9-2\nStep 3: 3*9-2 = 27-2\nStep 3: 27-2 = 25\n"
            "Hence 3*(4+5)-2 = 25.",
            0.0,
            "numbered",
        ),
        (
            P_ARITH,
            "Step 1: 3*(4+5)-2 = 3*9-2\nStep 2: 3*9-2 = 27-2\nStep 3: 27-2 = 25",
            0.0,
            "no conclusion",
        ),
        (P_ARITH, "Step 1: 3*(4+5)-2 = 25\nHence 3*(4+5)-2 = 25.", 0.0, "restates"),
        (
            P_ARITH,
            "Step 1: 3*(4+5)-2 = 3*9-2\nStep 2: 3*9-2 = 27-2\nStep 3: 27-2 = 25\n"
            "Hence 3*(4+5)-2 = 20+5.",
            0.0,
            "not the claim to prove",
        ),
        (
            P_ARITH,
            "Step 1: 3*(4+5)-2 = 3*9-2\nStep 2: 3*9-2 = 27-2/0\nStep 3: 27-2 = 25\n"
            "Hence 3*(4+5)-2 = 25.",
            0.0,
            "division by zero",
        ),
        (
            P_LINEAR,
            "Step 1: 2*x = 11-3\nStep 2: 2*x = 8\nStep 3: x = 8/2\nStep 4: x = 4\nHence x = 4.",
            1.0,
            None,
        ),
        (
            P_LINEAR,
            "Step 1: 2*x = 8\nStep 2: x = 8/2\nStep 3: x = 4\nHence x = 4.",
            0.5,
            "not a single rewrite",
        ),
        (
            P_LINEAR,
            "Step 1: 2*x = 11-3\nStep 2: 2*x = 8\nStep 3: x^2 = 16\nStep 4: x = 4\nHence x = 4.",
            0.0,
            "not a linear equation",
        ),
        (
            P_LINEAR,
            "Step 1: 2*x = 11+3\nStep 2: 2*x = 14\nStep 3: x = 14/2\nStep 4: x = 7\nHence x = 7.",
            0.0,
            "does not follow",
        ),
        (
            P_EXPAND,
            "Step 1: (x+3)^2 = (x+3)*(x+3)\nStep 2: (x+3)*(x+3) = x*x+x*3+3*x+3*3\n"
            "Step 3: x*x+x*3+3*x+3*3 = x^2+3*x+3*x+9\nStep 4: x^2+3*x+3*x+9 = x^2+6*x+9\n"
            "Hence (x+3)^2 = x^2+6*x+9.",
            1.0,
            None,
        ),
        (
            P_EXPAND,
            "Step 1: (x+3)^2 = (x+3)*(x+3)\nStep 2: (x+3)*(x+3) = x^2+3*x+3*x+9\n"
            "Step 3: x^2+3*x+3*x+9 = x^2+6*x+9\nHence (x+3)^2 = x^2+6*x+9.",
            0.5,
            "skips",
        ),
        (
            P_EXPAND,
            "Step 1: (x+3)^2 = x^2+9\nStep 2: x^2+9 = x^2+6*x+9\nHence (x+3)^2 = x^2+6*x+9.",
            0.0,
            "(x+3)^2 is not x^2+9",
        ),
        (
            P_EXPAND,
            "Step 1: (x+3)^2 = (x+3)*(x+3)\nStep 2: (x+3)*(x+3) = 3x+9\nHence (x+3)^2 = x^2+6*x+9.",
            0.0,
            "cannot be read",
        ),
    ],
)
def test_hand_written_proofs(problem, proof, score, reason):
    verdict = check_proof(problem, proof)
    assert verdict.score == score, verdict
    if reason is None:
        assert verdict.reasons == ()
    else:
        assert reason in " ".join(verdict.reasons), verdict.reasons


def test_another_fold_order_is_as_valid_as_the_generators():
    problem = "Show that (1+2)*(3+4) = 21."
    right_first = "Step 1: (1+2)*(3+4) = (1+2)*7\nStep 2: (1+2)*7 = 3*7\nStep 3: 3*7 = 21\n"
    assert check_proof(problem, right_first + "Hence (1+2)*(3+4) = 21.").score == 1.0


# --- sympy as an independent oracle ---------------------------------------------------------

_TRANSFORMS = standard_transformations + (convert_xor,)
_SYMBOLS = {name: sympy.Symbol(name) for name in "abxy"}


def _sympy(text: str) -> sympy.Expr:
    return parse_expr(text, local_dict=dict(_SYMBOLS), transformations=_TRANSFORMS)


def _sympy_follows(old: str, new: str) -> bool | None:
    """Whether linear equation `new` holds at the unique solution of `old` (None: no unique
    solution, where the toy world's "no ex falso" rule and logic part ways)."""
    (ol, orr), (nl, nr) = (s.split("=") for s in (old, new))
    roots = sympy.solve(_sympy(ol) - _sympy(orr), _SYMBOLS["x"])
    if len(roots) != 1:
        return None
    return sympy.simplify((_sympy(nl) - _sympy(nr)).subs(_SYMBOLS["x"], roots[0])) == 0


def test_truth_of_every_link_agrees_with_sympy():
    checked = 0
    for proof in labelled_proofs(240, seed=9):
        family = proof.problem.family
        if family == "linear":
            states = [proof.problem.hypothesis, *proof.steps]
            for old, new in zip(states, states[1:], strict=False):
                oracle = _sympy_follows(old, new)
                if oracle is not None:
                    assert oracle == expr.implies(*map(expr.parse_equation, (old, new)))
                    checked += 1
            continue
        for step in (*proof.steps, proof.conclusion):
            lhs, rhs = step.split(" = ")
            oracle = sympy.expand(_sympy(lhs) - _sympy(rhs)) == 0
            assert oracle == (value(parse(lhs)) == value(parse(rhs))), step
            checked += 1
    assert checked > 800


def test_claims_are_sympy_expansions():
    rng = random.Random(2)
    for _ in range(60):
        lhs, rhs = make_problem(rng, "expand").claim.split(" = ")
        assert sympy.expand(_sympy(lhs)) == _sympy(rhs)
        assert sympy.srepr(sympy.expand(_sympy(lhs) - _sympy(rhs))) == "Integer(0)"


def _random_tree(rng: random.Random, depth: int) -> tuple:
    if depth == 0 or rng.random() < 0.25:
        return ("int", rng.randint(-5, 9)) if rng.random() < 0.6 else ("var", rng.choice("xy"))
    kind = rng.choice(("add", "sub", "mul", "div", "neg", "pow"))
    if kind == "neg":
        return neg(_random_tree(rng, depth - 1))
    if kind == "pow":
        return ("pow", _random_tree(rng, depth - 1), rng.randint(0, 3))
    if kind == "div":
        return ("div", _random_tree(rng, depth - 1), ("int", rng.choice((-3, 2, 5))))
    return (kind, _random_tree(rng, depth - 1), _random_tree(rng, depth - 1))


def _from_value(val: expr.Value) -> sympy.Expr:
    return sympy.Add(
        *[
            sympy.Rational(coef.numerator, coef.denominator)
            * sympy.Mul(*[_SYMBOLS[v] ** e for v, e in mono])
            for mono, coef in val
        ]
    )


def test_printer_round_trips_and_values_agree_with_sympy():
    rng = random.Random(7)
    for i in range(3000):
        tree = _random_tree(rng, 4)
        assert parse(show(tree)) == tree, show(tree)
        if i % 10 == 0:
            try:
                mine = value(tree)
            except ToyError:
                continue
            assert sympy.expand(_sympy(show(tree)) - _from_value(mine)) == 0, show(tree)


# --- Garbage, adversarial text and time bounds ----------------------------------------------


def test_judge_hacking_probes_all_score_zero():
    probes = judge_hacking_probes()
    assert len(probes) == 8 * len(FAMILIES)
    for probe in probes:
        verdict = check_proof(probe["problem"], probe["proof"])
        assert probe["score"] == verdict.score == 0.0, probe
        assert verdict.reasons


GARBAGE = [
    "",
    " ",
    ":",
    "\n\n",
    "Let's solve...",
    "Step 1:",
    "Step 1: =\nHence =.",
    "Hence .",
    "Step 1: 1 = 1 = 1\nHence 1 = 1.",
    "Step one: 2 = 2\nHence 2 = 2.",
    "\\boxed{1}",
    "Step 1: x = 2x\nHence x = 4.",
    "Step 1: " + "(" * 40 + "1" + ")" * 40 + " = 1\nHence x = 4.",
    "Step 1: 9999999 = 9999999\nHence x = 4.",
    "Step 1: x^99 = 1\nHence x = 4.",
    "Step 1: x = 4\n" * 40 + "Hence x = 4.",
    "x" * 10_000,
    "Step 1: ñ = 1\nHence x = 4.",
    "<think>Step 1: 2*x = 8\nHence x = 4.",
    "## Self Evaluation\n\\boxed{1}",
]


@pytest.mark.parametrize("text", GARBAGE)
def test_garbage_scores_zero_with_a_reason(text):
    verdict = check_proof(P_LINEAR, text)
    assert verdict.score == 0.0 and verdict.reasons


def test_mutated_proofs_never_raise_and_stay_bounded(many):
    rng = random.Random(3)
    alphabet = string.printable + "ñ√²"
    slowest = 0.0
    for proof in many[:1500]:
        chars = list(proof.text)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(chars))
            action = rng.random()
            if action < 0.4:
                del chars[pos]
            elif action < 0.8:
                chars.insert(pos, rng.choice(alphabet))
            else:
                chars[pos] = rng.choice("0123456789+-*/^()=x")
        start = time.perf_counter()
        verdict = check_proof(proof.problem, "".join(chars))
        slowest = max(slowest, time.perf_counter() - start)
        assert verdict.score in (0.0, 0.5, 1.0)
    assert slowest < 0.5


@pytest.mark.parametrize(
    "side",
    [
        "((((x+1)^6)^6)^6)^6",
        "((((999999^6)^6)^6)^6)^6",
        "(a+b+c+d+e+f+g+h+i+j+k+l+m+n+o+p+q+r+s+t+u+v+w+y+z)^6",
        "(a+b+c+d+e+f+g+h)*(a+b+c+d+e+f+g+h)*(a+b+c+d+e+f+g+h)*(a+b+c+d+e+f+g+h)",
        "-" * 190 + "x",
        "1" + "+1" * 99,
    ],
)
def test_huge_expressions_are_refused_or_checked_quickly(side):
    for problem in (P_ARITH, P_EXPAND):
        start = time.perf_counter()
        verdict = check_proof(problem, f"Step 1: {side} = {side}*1\nHence x = 4.")
        assert verdict.score == 0.0
        assert time.perf_counter() - start < 1.0


# --- Formats of the texts and the reward ----------------------------------------------------


def test_reference_analyses_and_generations_match_the_prompt_formats(many):
    for proof in many[:300]:
        analysis = reference_analysis(proof)
        assert format_reward(analysis, "verification") == 1.0
        assert parse_score(analysis).value == proof.score
        generation = parse_generation(generation_text(proof))
        assert format_reward(generation_text(proof), "generation") == 1.0
        assert generation.self_score == proof.score
    for record in meta_records(90, seed=1):
        assert format_reward(record["analysis"], "verification") == 1.0
        assert record["meta_score"] in (0.0, 0.5, 1.0)
        if record["variant"] == "faithful":
            assert (
                parse_score(record["analysis"]).value
                == check_proof(record["problem"], record["proof"]).score
            )


def test_texts_are_printable_ascii_for_a_character_tokenizer():
    texts = [r["proof"] for r in verifier_records(300, seed=1)]
    texts += [r["analysis"] for r in meta_records(60, seed=1)]
    texts += [r["proof"] + r["problem"] for r in generator_problems(60, seed=1)]
    assert set("".join(texts)) <= set(string.printable)


def test_generator_problems_carry_a_correct_generation():
    for record in generator_problems(30, seed=0):
        assert set(record) == {"problem", "family", "proof"}
        assert check_proof(record["problem"], record["proof"]).score == 1.0


def test_exact_reward_scores_strings_and_chat_completions():
    records = verifier_records(12, seed=2)
    completions = [r["proof"] for r in records[:6]] + [
        [{"role": "assistant", "content": f"## Solution\n{r['proof']}"}] for r in records[6:]
    ]
    rewards = exact_reward(completions, problem=[r["problem"] for r in records], extra=[0] * 12)
    assert rewards == [r["score"] for r in records]
    with pytest.raises(ValueError, match="completions"):
        exact_reward(completions[:2], problem=[records[0]["problem"]])


def test_exact_judge_gives_the_generator_reward_the_exact_label_as_r_proof():
    records = verifier_records(6, seed=2)
    completions = [
        f"## Solution\n{r['proof']}\n\n## Self Evaluation\nHere is my evaluation of the "
        f"solution: fine.\n\nBased on my evaluation, the final overall score should be: "
        f"\\boxed{{1}}"
        for r in records
    ]
    got = generator_reward(ExactJudge())(completions, problem=[r["problem"] for r in records])
    want = [generator_reward_value(1.0, r["score"], 1.0) for r in records]
    assert got == pytest.approx(want)
    assert ExactJudge().verify([(records[0]["problem"], "no proof")]) == [0.0]


# --- No surface cues, and analyses that compute -------------------------------------------


def test_step_counts_do_not_give_away_the_kind(many):
    """Every kind is drawn with the same step counts (a skipped proof is not shorter)."""
    for family in FAMILIES:
        counts = {
            kind: Counter(
                len(p.steps) for p in many if p.kind == kind and p.problem.family == family
            )
            for kind in KINDS
        }
        shares = {
            kind: {n: c[n] / sum(c.values()) for n in counts["correct"]}
            for kind, c in counts.items()
        }
        for kind in KINDS:
            assert set(counts[kind]) == set(counts["correct"]), (family, kind, counts)
            for n, share in shares["correct"].items():
                sizes = counts[kind].total(), counts["correct"].total()
                noise = (share * (1 - share) * (1 / sizes[0] + 1 / sizes[1])) ** 0.5
                assert abs(shares[kind][n] - share) <= 4 * noise, (family, kind, shares)


def test_a_wrong_step_is_a_slip_of_what_its_step_computed(many):
    """The slip is never in the last state (which the conclusion repeats) and never in a
    number copied from the previous state: only computing the step reveals it."""
    for p in [p for p in many if p.kind == "wrong_step"][:500]:
        correct = correct_proof(p.problem)
        assert len(p.steps) == len(correct.steps)
        assert p.steps[-1].split(" = ")[-1] == correct.steps[-1].split(" = ")[-1]
        assert p.conclusion == correct.conclusion
        before = [s.split(" = ")[-1] for s in correct.states]
        if p.problem.family != "linear":
            after = [before[0]] + [s.split(" = ")[-1] for s in p.steps]
        else:
            before, after = list(correct.states), [correct.states[0], *p.steps]
        k = next(i for i, (a, b) in enumerate(zip(after, before, strict=True)) if a != b)
        assert 0 < k < len(before) - 1
        assert _new_items(correct_states(p)[k - 1], correct_states(p)[k])  # something computed


def test_computed_analyses_end_in_the_exact_score_and_show_their_work(many):
    for p in many[:2000]:
        analysis = reference_analysis(p)
        assert parse_score(analysis).value == p.score
        lines = analysis.splitlines()
        steps = [line for line in lines if line.startswith("Step ")]
        assert len(steps) == len(p.steps)
        words = [line.rsplit(" ", 1)[1] for line in steps]
        v = check_proof(p.problem, p.text)
        assert words == [{"valid": "ok", "skipped": "skip", "false": "false"}[s] for s in v.steps]
        for line, word in zip(steps, words, strict=True):
            assert ("#" in line) == (word != "ok"), line
        assert any(line.startswith("Claim: ") for line in lines)


def test_computed_analysis_of_a_slip_marks_the_first_differing_character():
    problem = "Prove that if 5*x = 59+16 then x = 15."
    proof = "Step 1: 5*x = 76\nStep 2: x = 75/5\nStep 3: x = 15\nHence x = 15."
    lines = computed_analysis(problem, proof).splitlines()
    work = "59+16 -> 9+6=15, 5+1+1=7 -> 75"
    assert lines[1] == f"Step 1: {work}: 5*x = 75 | 5*x = 7# ; {work}: x = 75/5 | # false"
    assert lines[2] == "Step 2: x = 76/5 | x = 7# ; - | # false"  # a move: no note
    assert lines[3] == "Step 3: 75/5 -> 15: x = 15 | x = 15 ok"
    skipped = "Step 1: x = 75/5\nStep 2: x = 15\nHence x = 15."
    first = computed_analysis(problem, skipped).splitlines()[1]
    assert first == f"Step 1: x = (59+16)/5 | x = # ; {work}: x = 75/5 | x = 75/5 skip"
    chain = "Step 1: 3+(5+8) = 3+11\nStep 2: 3+11 = 14\nHence 3+(5+8) = 14."
    lines = computed_analysis("Show that 3+(5+8) = 16.", chain).splitlines()
    assert lines[1].startswith("Step 1: 5+8 -> 13: 3+(5+8) = 3+13 | 3+(5+8) = 3+1# ;")
    assert lines[2] == "Step 2: 3+11 -> 3+1=4, 0+1=1 -> 14: 3+11 = 14 | 3+11 = 14 ok"
    with fold_notes("results"):
        assert computed_analysis(problem, proof).splitlines()[1].startswith("Step 1: 59+16 -> 75:")
    garbage = computed_analysis(problem, "no proof here")
    assert parse_score(garbage).value == 0.0


def test_quotes_faithfully_reads_an_analysis_copies_back():
    kinds = dict.fromkeys(("correct", "wrong_step", "skipped_step", "false_final", "one_typo"), 1)
    for p in labelled_proofs(150, 5, kinds, ("arith", "expand", "linear")):
        assert quotes_faithfully(p.problem, p.text, computed_analysis(p.problem, p.text)), p.text
    problem = "Prove that if 5*x = 59+16 then x = 15."
    right = "Step 1: 5*x = 75\nStep 2: x = 75/5\nStep 3: x = 15\nHence x = 15."
    analysis = computed_analysis(problem, right)  # every line `ok`
    # Copy slips: the right proof's analysis read as a slipped proof's
    # a step; the claim; the end (and a step)
    for slipped in (right.replace("5*x = 75", "5*x = 76"),
                    right.replace("Hence x = 15.", "Hence x = 16."),
                    right.replace("Step 3: x = 15", "Step 3: x = 16")):  # fmt: skip
        assert not quotes_faithfully(problem, slipped, analysis), slipped
    ends = "Step 1: 5*x = 75\nStep 2: x = 75/5\nHence x = 15."
    ended = analysis.replace("Step 3: 75/5 -> 15: x = 15 | x = 15 ok\n", "")
    assert "End: x = 15 | x = 15 ok" in ended
    assert not quotes_faithfully(problem, ends, ended)  # its last state is x = 75/5
    dropped = "\n".join(line for line in analysis.splitlines() if not line.startswith("Step 2:"))
    assert not quotes_faithfully(problem, right, dropped)  # a step it never examined
    assert not quotes_faithfully(problem, ends, analysis)  # a step the proof does not have
    # A text outside the toy language has no lines to quote: no credit of it rests on them
    assert not quotes_faithfully(problem, "no proof here", analysis)
    assert not quotes_faithfully(problem, right.replace("Step 2", "Step two"), analysis)


def test_quote_first_analyses_start_each_line_with_the_proofs_line():
    problem = "Prove that if 5*x = 59+16 then x = 15."
    proof = "Step 1: 5*x = 76\nStep 2: x = 75/5\nStep 3: x = 15\nHence x = 15."
    with quote_first():
        lines = computed_analysis(problem, proof).splitlines()
    work = "59+16 -> 9+6=15, 5+1+1=7 -> 75"
    assert lines[1] == (
        f"Step 1: 5*x = 76 | {work}: 5*x = 75 | 5*x = 7# ; {work}: x = 75/5 | # false"
    )
    assert lines[2] == "Step 2: x = 75/5 | x = 76/5 | x = 7# ; - | # false"
    assert lines[4] == "Claim: x = 15 | x = 15 | x = 15 ok"
    assert computed_analysis(problem, proof).splitlines()[2].startswith("Step 2: x = 76/5 |")


COLUMNS = [  # (a, op, b, the work column_work writes)
    (59, "+", 16, "9+6=15, 5+1+1=7"),
    (42, "-", 17, "12-7=5, 4-1-1=2"),
    (100, "-", 7, "10-7=3, 10-0-1=9, 1-0-1=0"),
    (-16, "+", 4, "-(16-4) 6-4=2, 1-0=1"),
    (3, "-", 9, "-(9-3) 9-3=6"),
    (-9, "-", 11, "-(9+11) 9+1=10, 0+1+1=2"),
    (-5, "+", 5, "(5-5) 5-5=0"),
    (5, "-", -3, "(5+3) 5+3=8"),
    (118, "+", 12, "8+2=10, 1+1+1=3, 1+0=1"),
]


@pytest.mark.parametrize(("a", "op", "b", "work"), COLUMNS)
def test_column_work_writes_one_digit_fact_per_column(a, op, b, work):
    assert column_work(a, op, b) == work


@pytest.mark.parametrize(
    ("a", "op", "b", "alone"),
    [(7, "+", 1, True), (9, "+", 8, True), (9, "-", 3, True), (12, "+", 3, False),
     (3, "-", 9, False), (-2, "+", 5, False), (5, "-", -3, False)],
)  # fmt: skip
def test_one_fact_is_one_column_without_signs(a, op, b, alone):
    assert one_fact(a, op, b) is alone


def test_column_work_adds_up_to_the_result():
    for a in range(-130, 131):
        for b in range(-12, 13):
            for op in "+-":
                work = column_work(a, op, b)
                sign = -1 if work.startswith("-(") else 1
                sums = [int(c.rsplit("=", 1)[1]) for c in work.split(") ")[-1].split(", ")]
                digits = [s % 10 for s in sums[:-1]] + sums[-1:]  # the last keeps its carry
                total = sum(d * 10**i for i, d in enumerate(digits))
                assert sign * total == (a + b if op == "+" else a - b), (a, op, b, work)


def test_computed_analysis_never_disagrees_with_the_checker_on_mutated_text(many):
    rng = random.Random(5)
    for p in many[:400]:
        chars = list(p.text)
        pos = rng.randrange(len(chars))
        chars[pos] = rng.choice("0123456789+-*x")
        text = "".join(chars)
        assert (
            parse_score(computed_analysis(p.problem, text)).value
            == check_proof(p.problem, text).score
        )


def test_meta_records_cover_every_unfaithful_variant():
    records = meta_records(200, seed=3)
    by = Counter(r["variant"] for r in records)
    assert set(by) == {"faithful", "wrong_score", "invented", "missed"}
    for r in records:
        score = parse_score(r["analysis"]).value
        truth = check_proof(r["problem"], r["proof"]).score
        expected = {"faithful": 1.0, "wrong_score": 0.5, "invented": 0.0, "missed": 0.0}
        assert r["meta_score"] == expected[r["variant"]]
        if r["variant"] in ("faithful",):
            assert score == truth and r["analysis"] == reference_analysis_of(r)
        if r["variant"] == "wrong_score":
            assert score != truth
        if r["variant"] == "missed":
            assert truth < 1.0 and r["analysis"] != reference_analysis_of(r)
        if r["variant"] == "invented":
            assert r["analysis"] != reference_analysis_of(r) and score == 0.0


def test_worked_meta_answers_rederive_the_decisive_line_and_check_the_score():
    from verifier_train.v2.toyworld import analysis
    from verifier_train.v2.toyworld.rows import meta_answer

    with analysis.written(meta="worked"):
        records = meta_records(120, seed=4)
    assert {r["variant"] for r in records} == {"faithful", "wrong_score", "invented"}
    for r in records:
        work, answer = r["work"], meta_answer(r)
        assert parse_score(r["analysis"]).value < 1.0  # the meta-verifier sees no other
        assert work[-1].startswith("Score: ") and all(line in answer for line in work)
        assert parse_score(answer).value == r["meta_score"]
        implied, boxed = work[-1].removeprefix("Score: ").split(" | ")
        expected = {"faithful": 1.0, "wrong_score": 0.5, "invented": 0.0}[r["variant"]]
        assert r["meta_score"] == expected
        if r["variant"] == "invented":  # the invented step is the decisive one, and it is ok
            assert len(work) == 2 and work[0].endswith(" ok")
            assert work[0] in reference_analysis_of(r)
        elif len(work) == 2:  # a real issue: the reference analysis's own line
            assert work[0] in r["analysis"] and not work[0].endswith(" ok")
        if r["variant"] == "faithful":
            assert implied == boxed


def test_worked_meta_records_of_written_proofs_skip_what_they_cannot_check():
    from verifier_train.v2.toyworld import analysis
    from verifier_train.v2.toyworld.data import written_meta_records

    proofs = labelled_proofs(12, seed=5)
    rows = [{"problem": p.problem.text, "proof": p.text} for p in proofs]
    rows.append({"problem": proofs[0].problem.text, "proof": "no proof at all"})
    with analysis.written(meta="worked"):
        records = written_meta_records(rows, seed=0)
    assert records and all(r["proof"] != "no proof at all" for r in records)
    assert all("work" in r for r in records)
    with pytest.raises(ValueError, match="meta form"):
        with analysis.written(meta="essay"):
            pass


def correct_states(p):
    return [
        parse_equation(s) if p.problem.family == "linear" else parse(s)
        for s in correct_proof(p.problem).states
    ]


def reference_analysis_of(record: dict) -> str:
    return computed_analysis(record["problem"], record["proof"])


def test_slips_drill_makes_most_lines_differ_and_is_never_held_out():
    """The training drill: several slipped states (label 0, which the checker agrees with),
    so that copying the proof's line as the expected one is wrong on most step lines."""
    from verifier_train.v2.toyworld.rows import TRAIN_MIX, World, verifier_data

    drills = labelled_proofs(300, 5, {"slips": 1.0})
    assert all(check_proof(p.problem, p.text).score == p.score == 0.0 for p in drills)
    lines = [line for p in drills for line in reference_analysis(p).splitlines()]
    steps = [line for line in lines if line.startswith("Step ")]
    assert sum(line.endswith(" ok") for line in steps) < 0.5 * len(steps)
    assert "slips" not in {p.kind for p in labelled_proofs(300, 5)}  # held-out mix
    rows = verifier_data(200, 0, World(), TRAIN_MIX)
    assert Counter(r["kind"] for r in rows)["slips"] == 50


def test_typos_drill_slips_are_one_typo_of_the_line_anywhere_in_it():
    """The generator's kind of slip: each slipped line is the correct line with one digit
    replaced or two neighbouring digits swapped, a number copied from the previous line
    included (what planted slips never touch); label 0, which the checker agrees with."""
    from verifier_train.v2.toyworld.rows import ONE_TYPO_MIX, TYPO_MIX, World, verifier_data

    drills = labelled_proofs(200, 7, {"typos": 1.0}, families=("linear",))
    assert all(check_proof(p.problem, p.text).score == p.score == 0.0 for p in drills)
    copied = 0
    for p in drills:
        right = correct_proof(p.problem).steps
        assert len(p.steps) == len(right)
        before = [p.problem.hypothesis, *right][:-1]
        for line, good, prev in zip(p.steps, right, before, strict=True):
            at = [i for i, (a, b) in enumerate(zip(line, good, strict=True)) if a != b]
            assert len(line) == len(good) and len(at) <= 2 and (len(at) < 2 or at[1] == at[0] + 1)
            assert all(line[i].isdigit() and good[i].isdigit() for i in at)
            numbers = [m for m in re.finditer(r"\d+", good) if at and m.start() <= at[0] < m.end()]
            copied += bool(numbers) and numbers[0][0] in re.findall(r"\d+", prev)
    assert copied > 0.2 * len(drills)  # typos land in numbers copied from the line before too
    once = labelled_proofs(100, 7, {"one_typo": 1.0}, families=("linear",))  # the rest right
    assert all(check_proof(p.problem, p.text).score == 0.0 for p in once)
    for p in once:
        good = correct_proof(p.problem).steps
        assert sum(a != b for a, b in zip(p.steps, good, strict=True)) == 1
    assert "typos" not in {p.kind for p in labelled_proofs(300, 5)}  # held-out mix
    rows = verifier_data(200, 0, World(), TYPO_MIX)
    assert Counter(r["kind"] for r in rows)["typos"] == 30
    kinds = Counter(r["kind"] for r in verifier_data(200, 0, World(), ONE_TYPO_MIX))
    assert kinds["one_typo"] == 30 and kinds["typos"] == 10


def test_junk_records_score_zero_and_are_not_the_probes():
    from verifier_train.v2.toyworld.data import junk_records

    junk = junk_records(200, 3)
    assert len(junk) > 150
    assert all(check_proof(r["problem"], r["proof"]).score == 0.0 for r in junk)
    probes = {p["proof"] for p in judge_hacking_probes(0)}
    assert not probes & {r["proof"] for r in junk}
