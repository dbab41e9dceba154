"""Bare answers: the rule that tells a bare answer from a model's output, on real outputs; how
each grader reads a bare answer; `pred_kind`; and `prover grade` as a new user runs it."""

from __future__ import annotations

import ast
import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from prover.answers import bare_answer, reads_as_answer
from prover.cli import main
from prover.grading import grade, grade_many, math_verify_text, pred_is_answer

DATA = Path(__file__).resolve().parent / "data"

BARE = [
    "\\dfrac12",
    "(x+1)^2",
    "\\sqrt{12}",
    "[0, 1)",
    "\\{3,2,1\\}",
    "b+a",
    "42",
    "-5",
    "7,425,000",
    "1 000",
    "x = 5",
    "x \\in [0,1)",
    "2 \\le x \\le 5",
    "10 cm",
    "12 square units",
    "5 dollars",
    "28 percent",
    "30^\\circ",
    "\\$18.90",  # an escaped dollar sign is not a delimiter
    "\\text{Evelyn}",
    "Evelyn",
    "\\text{no solution}",
    "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}",
    "\\begin{pmatrix} 1 & 2 \\\\\n 3 & 4 \\end{pmatrix}",  # one environment over two lines
    "\\sin x + \\cos x",
    "  3/4.  ",
]
OUTPUTS = [
    "",
    "   ",
    "We add them, so the answer is 5",
    "Answer: 5",
    "Putting it together, the final answer is $\\boxed{5}$.",
    "\\boxed{5}",
    "Final Answer: The final answer is $4$. I hope it is correct.",
    "$\\frac{1}{2}$",
    "\\( 9 \\)",
    "```python\nprint(2 + 3)\n```\n```output\n5\n```",
    "I could not solve it.",
    "5 apples and 3 pears",
    "x = 5 and y = 3",
    "the number is not 10 which is 1,000.99€",
    "2+3\n=5",  # two lines, not one environment
]


@pytest.mark.parametrize("text", BARE)
def test_bare_answers_read_as_answers(text):
    assert reads_as_answer(text)


@pytest.mark.parametrize("text", OUTPUTS)
def test_outputs_are_not_bare_answers(text):
    assert not reads_as_answer(text)


def _proofs() -> list[str]:
    proofs = []
    for path in sorted((DATA / "deepseek-math-v2").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            prediction = json.loads(line)["model_prediction"]
            if isinstance(prediction, str):
                prediction = ast.literal_eval(prediction)
            proofs.append(prediction["proof"])
    return proofs


def test_real_outputs_stay_outputs():
    """DeepSeekMath-V2's published proofs, and Math-Verify's regression outputs: only its
    bare predictions (numbers, a fraction, a percentage, a garbled token) read as answers."""
    proofs = _proofs()
    assert len(proofs) == 10 and not any(reads_as_answer(p) for p in proofs)
    cases = json.loads((DATA / "grading" / "math_verify_test_all.json").read_text("utf-8"))
    bare = [c["pred"] for c in cases["cases"] if reads_as_answer(c["pred"])]
    assert bare == [
        "-5", "7,425,000", "1 000", "1000.0", "1,000.0", "1000,99", "1.22", ".4", "1,000.99",
        "1,000.99", "0.111", "AZYUK2A", "\\frac{10}{9}", "-\\frac{10}{9}", "28 percent",
        "28 pct", "28 %",
    ]  # fmt: skip


def test_math_verify_reads_lone_numbers_as_they_are():
    for number in ("7,425,000", "1 000", "1000,99", ".4", "-5", "28 percent", "10 cm", "28 %"):
        assert math_verify_text(number) == number
    for answer in ("\\dfrac12", "1,2", "3, 2, 1", "2x", "$5$"):
        assert math_verify_text(answer) == (answer if "$" in answer else f"${answer}$")


def test_bare_answer_is_the_whole_pred():
    assert bare_answer("  \\frac{1}{2}. ") == "\\frac{1}{2}"
    assert bare_answer("$\\frac12$") == "\\frac12"
    assert bare_answer("\\boxed{5}") == "5"
    assert (
        bare_answer("\\begin{pmatrix}1\\\\\n2\\end{pmatrix}")
        == "\\begin{pmatrix}1\\\\ 2\\end{pmatrix}"
    )
    assert bare_answer("  ") is None


def test_pred_kind():
    assert pred_is_answer("\\dfrac12", "auto") and not pred_is_answer("\\dfrac12", "output")
    assert pred_is_answer("so the answer is 5", "answer")
    with pytest.raises(ValueError, match="pred_kind must be one of auto, answer, output"):
        pred_is_answer("5", "bare")
    # The default is "output", as the reward functions and `prover eval` grade.
    assert grade("\\frac{1}{2}", "\\dfrac12") == grade(
        "\\frac{1}{2}", "\\dfrac12", pred_kind="output"
    )
    assert grade("\\frac{1}{2}", "\\dfrac12").answer == "12"


ISSUE_EXAMPLES = [
    ("\\frac{1}{2}", "\\dfrac12"),
    ("x^2+2x+1", "(x+1)^2"),
    ("2\\sqrt{3}", "\\sqrt{12}"),
    ("[0,1)", "[0, 1)"),
    ("\\{1,2,3\\}", "\\{3,2,1\\}"),
    ("a+b", "b+a"),
    ("\\frac{1}{2}", "\\frac{2}{4}"),
]


def test_issue_examples_are_graded_whole():
    grades = grade_many(ISSUE_EXAMPLES, pred_kind="auto")
    got = [(g.math_verify, g.deepseek, g.answer, g.as_answer) for g in grades]
    assert got == [(True, True, pred, True) for _, pred in ISSUE_EXAMPLES]


def test_outputs_keep_working_in_auto_mode():
    boxed = "Adding, we get $\\boxed{\\dfrac12}$."
    for pred in (boxed, "We halve it, so the answer is 0.5", "so the answer is $\\frac12$."):
        auto, output = grade("\\frac{1}{2}", pred, pred_kind="auto"), grade("\\frac{1}{2}", pred)
        assert auto == output and (auto.math_verify, auto.deepseek) == (True, True)
    wrong = grade("5", "so the answer is 6", pred_kind="auto")
    assert (wrong.math_verify, wrong.deepseek, wrong.answer) == (False, False, "6")


def invoke(*args: str):
    return CliRunner().invoke(main, ["grade", *map(str, args)], catch_exceptions=False)


def test_cli_grades_a_bare_answer():
    result = invoke("\\frac{1}{2}", "\\dfrac12")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "math-verify: true",
        "deepseek:    true",
        "answer:      \\dfrac12",
        "agree:       yes",
    ]
    output = invoke("\\frac{1}{2}", "\\dfrac12", "--pred-kind", "output")
    assert output.stdout.splitlines()[:3] == [
        "math-verify: unknown (no answer parsed from pred)",
        "deepseek:    false",
        "answer:      12",
    ]
    bad = invoke("1", "1", "--pred-kind", "bare")
    assert bad.exit_code == 2 and "Invalid value for '--pred-kind'" in bad.output


def test_cli_pairs_pred_kind(tmp_path):
    tsv = tmp_path / "pairs.tsv"
    rows = [["gold", "pred"], ["\\frac{1}{2}", "\\dfrac12"], ["5", "so the answer is 5"]]
    with tsv.open("w", newline="") as handle:
        csv.writer(handle, delimiter="\t", lineterminator="\n").writerows(rows)
    verdicts = {}
    for kind in ("auto", "answer", "output"):
        result = invoke("--pairs", tsv, "--pred-kind", kind)
        assert result.exit_code == 0, result.output
        verdicts[kind] = [line.split("\t")[2:] for line in result.stdout.splitlines()]
        bare = {"auto": 1, "answer": 2, "output": 0}[kind]
        assert f"(0 skipped, {bare} graded as bare answers)" in result.stderr
    assert verdicts["auto"] == [["true", "true"], ["true", "true"]]
    assert verdicts["output"] == [["unknown", "false"], ["true", "true"]]
    assert verdicts["answer"][0] == ["true", "true"]
    assert invoke("--pairs", tsv).stdout == invoke("--pairs", tsv, "--pred-kind", "auto").stdout


def test_cli_pairs_on_the_bare_table():
    """The project's bare-answer table is itself a pairs file (extra columns are ignored)."""
    result = invoke("--pairs", DATA / "grading" / "bare_answers.tsv", "--workers", "2")
    assert result.exit_code == 0, result.output
    assert "graded 86 pairs (0 skipped, 86 graded as bare answers)" in result.stderr
