"""Parser tables: (text, finish_reason) -> expected score / reason fragment.

The generation cases mirror the DeepSeekMath-V2 output format (`## Solution` then
`## Self Evaluation`); proof text is taken from the published IMO 2025 outputs."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from prover.parse import (
    boxed,
    format_reward,
    parse_generation,
    parse_verdict,
    split_solution,
    to_number,
)
from prover.prompts import EVAL_CLOSING, EVAL_OPENING, META_CLOSING, META_OPENING

PUBLISHED = Path(__file__).parent / "data" / "deepseek-math-v2"  # see its README.md


def verification(analysis: str, score: str) -> str:
    return f"{EVAL_OPENING}\n{analysis}\n\n{EVAL_CLOSING} \\boxed{{{score}}}"


@pytest.mark.parametrize(
    "text, finish, expected",
    [
        (verification("All steps hold.", "1"), "stop", 1.0),
        (verification("Step 3 divides by zero.", "0"), "stop", 0.0),
        (verification("Minor gap in case n=3.", "0.5"), "stop", 0.5),
        (verification("ok", "\\frac{1}{2}"), "stop", 0.5),
        (verification("ok", "1/2"), "stop", 0.5),
        (verification("ok", "1.0"), "stop", 1.0),
        (verification("ok", " 1 "), "stop", 1.0),
        # several boxes: the proof's answer box quoted in the analysis comes first
        (verification("The proof concludes \\boxed{\\{0,1,3\\}} correctly.", "1"), "stop", 1.0),
        # nested braces in an earlier box
        (verification("It claims \\boxed{\\frac{n(n+1)}{2}}.", "0"), "stop", 0.0),
        # the last box is empty: take the last non-empty one
        (verification("ok", "0.5") + " \\boxed{}", "stop", 0.5),
        # thinking first, with a different score inside it
        ("<think>maybe \\boxed{0}</think>" + verification("fine", "1"), "stop", 1.0),
        # missing final phrase: the score is still read (R_format is what punishes it)
        ("The proof is complete. Score: \\boxed{1}", "stop", 1.0),
    ],
)
def test_verification_scores(text, finish, expected):
    verdict = parse_verdict(text, finish)
    assert verdict.score == expected and verdict.reason is None


@pytest.mark.parametrize(
    "text, finish, reason",
    [
        (verification("ok", "1"), "length", "truncated"),
        ("Here is my evaluation of the solution:\nStep 1 is \\boxed{1", "length", "truncated"),
        ("Here is my evaluation of the solution:\nStep 1 is \\boxed{1", None, "no \\boxed"),
        (verification("a box \\boxed{1} inside the analysis", "7"), "stop", "not one of"),
        (verification("ok", "1 point"), "stop", "not one of"),
        ("no score at all", "stop", "no \\boxed"),
        ("<think>long thought \\boxed{1}", "stop", "unfinished thinking"),
        ("", "prompt_too_long", "prompt too long"),
        ("\x17L\x1e nonsense bytes } { \\boxed", "stop", "no \\boxed"),
    ],
)
def test_unparseable_verifications(text, finish, reason):
    verdict = parse_verdict(text, finish)
    assert verdict.score is None and reason in verdict.reason


@pytest.mark.parametrize(
    "text, expected",
    [
        ("\\boxed{a}\\boxed{b}", ["a", "b"]),
        ("\\boxed{\\frac{1}{2}}", ["\\frac{1}{2}"]),
        ("\\boxed {x}", ["x"]),
        ("\\fbox{1}", ["1"]),
        ("\\boxed{\\{1,2\\}}", ["\\{1,2\\}"]),
        ("\\boxed{unterminated", []),
        ("\\boxed{a} and \\boxed{b", ["a"]),
        ("\\boxed{a \\\\}", ["a \\\\"]),  # a line break, then the closing brace
        ("\\boxed{\\}}", ["\\}"]),
    ],
)
def test_boxed(text, expected):
    assert boxed(text) == expected


@pytest.mark.parametrize(
    "raw, value",
    [
        ("1", 1.0),
        ("0", 0.0),
        (".5", 0.5),
        ("\\dfrac12", 0.5),
        ("\\tfrac{1}{2}", 0.5),
        ("$1$", 1.0),
        ("abc", None),
        ("1/0", None),
    ],
)
def test_to_number(raw, value):
    assert to_number(raw) == value


GENERATION = (
    "## Solution\nLet $n$ be odd. Then ...\n\n## Self Evaluation\n"
    f"{EVAL_OPENING}\nEvery step is justified.\n\n{EVAL_CLOSING} \\boxed{{1}}"
)


@pytest.mark.parametrize(
    "text, solution, self_score, reason",
    [
        (GENERATION, "Let $n$ be odd. Then ...", 1.0, None),
        (GENERATION.replace("## Solution", "**Solution**"), "Let $n$ be odd. Then ...", 1.0, None),
        (
            GENERATION.replace("## Self Evaluation", "**Self-Evaluation:**"),
            "Let $n$ be odd. Then ...",
            1.0,
            None,
        ),
        (GENERATION.replace("## Solution", "### Solution:"), "Let $n$ be odd. Then ...", 1.0, None),
        ("<think>plan</think>" + GENERATION, "Let $n$ be odd. Then ...", 1.0, None),
        # no headers at all: the whole text is the solution, no self score
        ("Let $n$ be odd.", "Let $n$ be odd.", None, "no self evaluation"),
        # self evaluation without a score
        ("## Solution\nproof\n## Self Evaluation\nlooks fine", "proof", None, "no \\boxed"),
        ("## Solution\n\n## Self Evaluation\n\\boxed{1}", "", None, "empty solution"),
    ],
)
def test_generation(text, solution, self_score, reason):
    parsed = parse_generation(text, "stop")
    assert parsed.solution == solution
    assert parsed.self_score == self_score
    assert (parsed.reason is None) if reason is None else (reason in parsed.reason)


def test_truncated_generation_is_not_a_proof():
    parsed = parse_generation(GENERATION[:40], "length")
    assert parsed.solution == "" and "truncated" in parsed.reason


def test_solution_keeps_inner_headers():
    text = "## Solution\n### Step 1\nA\n### Step 2\nB\n## Self Evaluation\n\\boxed{0}"
    assert split_solution(text)[0] == "### Step 1\nA\n### Step 2\nB"


@pytest.mark.parametrize(
    "text, kind, finish, reward",
    [
        (GENERATION, "generation", "stop", 1.0),
        (GENERATION, "generation", "length", 0.0),
        (GENERATION.replace(EVAL_CLOSING, "So"), "generation", "stop", 0.0),
        (GENERATION.replace("## Solution\n", ""), "generation", "stop", 0.0),
        (verification("fine", "1"), "verification", "stop", 1.0),
        (verification("fine", "2"), "verification", "stop", 0.0),
        ("Score: \\boxed{1}", "verification", "stop", 0.0),
        (f"{META_OPENING}\nAll issues real.\n\n{META_CLOSING} \\boxed{{1}}", "meta", "stop", 1.0),
        (f"{META_OPENING}\nAll issues real.\n\n{META_CLOSING}", "meta", "stop", 0.0),
    ],
)
def test_format_reward(text, kind, finish, reward):
    assert format_reward(text, kind, finish) == reward


def test_meta_scores():
    text = f"{META_OPENING}\nIssue 2 is not real.\n\n{META_CLOSING} \\boxed{{0}}"
    assert parse_verdict(text, "stop").score == 0.0


def test_published_proofs_parse_as_solutions():
    """Real published proofs have no headers; each is kept whole as the solution, and its
    own answer box is not mistaken for a self score."""
    proofs = []
    for path in sorted(PUBLISHED.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            prediction = json.loads(line)["model_prediction"]
            if isinstance(prediction, str):  # a Python literal, as some upstream files have it
                prediction = ast.literal_eval(prediction)
            proofs.append(prediction["proof"])
    assert len(proofs) == 10
    for proof in proofs:
        parsed = parse_generation(proof, "stop")
        assert parsed.solution == proof.strip()
        assert parsed.self_score is None
