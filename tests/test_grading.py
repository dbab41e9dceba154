"""Answer grading: both verdicts on tables of real failure modes, answer extraction, the time
bound on pathological inputs, threads and worker processes, and `prover grade`."""

from __future__ import annotations

import csv
import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from click.testing import CliRunner

from prover import grading
from prover.cli import main
from prover.grading import (
    Grade,
    GradingError,
    deepseek_equal,
    extract_answer,
    grade,
    grade_many,
    math_verify_equal,
)


def boxed(answer: str) -> str:
    return f"Putting it together, the final answer is $\\boxed{{{answer}}}$."


# (gold, pred, expected Math-Verify verdict, expected DeepSeekMath verdict)
GRADE_TABLE = [
    # Known false positive of Math-Verify: both are about 0 at its float precision. The
    # DeepSeekMath rules compare exact numbers exactly.
    ("1/2004!", boxed("1/2006!"), True, False),
    ("\\frac{1}{2004!}", boxed("\\frac{1}{2006!}"), True, False),
    # Known false positive of set-matching graders; both graders here say no.
    ("n=2,3,4", boxed("n=1,2,3"), False, False),
    ("\\frac{1}{2}", boxed("0.5"), True, True),
    ("\\frac{1}{2}", boxed("\\dfrac12"), True, True),
    ("50\\%", boxed("0.5"), True, True),
    ("0.5", boxed("50\\%"), True, True),
    ("(1,2)", boxed("(2,1)"), False, False),  # tuple order matters
    ("(1,2)", boxed("(1, 2)"), True, True),
    ("[0,1)", boxed("[0,1]"), False, False),  # so do interval ends
    ("\\{1,2\\}", boxed("\\{2,1\\}"), True, True),  # set order does not
    ("1, 2", boxed("2, 1"), True, True),
    ("1,2", boxed("1,2,3"), False, False),
    ("(-\\infty,1)\\cup(2,\\infty)", boxed("(2,\\infty)\\cup(-\\infty,1)"), True, True),
    (
        "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}",
        boxed("\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}"),
        True,
        True,
    ),
    (
        "\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}",
        boxed("\\begin{pmatrix}1&2\\\\4&3\\end{pmatrix}"),
        False,
        False,
    ),
    ("\\text{(B)}", boxed("B"), True, True),
    ("\\text{(B)}", boxed("C"), False, False),
    ("10\\text{ cm}", boxed("10"), True, True),
    ("10", boxed("10 \\text{ meters}"), True, True),
    ("30^\\circ", boxed("30"), True, True),
    ("\\$18.90", boxed("18.9"), True, True),
    ("123456789012345678901", boxed("123456789012345678902"), False, False),  # not "close"
    ("123456789012345678901", boxed("123456789012345678901"), True, True),
    ("1000000", boxed("1,000,000"), True, True),
    ("x=3", boxed("3"), True, True),
    ("3", boxed("x=3"), True, True),
    ("y=2x+1", boxed("2x+1=y"), True, True),
    ("x=1, y=2", boxed("y=2, x=1"), True, True),
    ("2\\sqrt{2}", boxed("\\sqrt{8}"), True, True),
    ("x^2+2x+1", boxed("(x+1)^2"), True, True),
    ("x^2+2x+1", boxed("(x-1)^2"), False, False),
    # The graders disagree: DeepSeekMath's 1e-3 tolerance and percentage variants.
    ("\\frac{\\sqrt{3}}{2}", boxed("0.866"), False, True),
    ("\\pi", boxed("3.1416"), False, True),
    ("5", boxed("500"), False, True),
    ("1000", "Counting both cases, the answer is 1,000.", True, True),
    ("3", "", None, False),  # empty prediction: nothing to parse
    ("3", "I could not solve it.", None, False),
]


def test_grade_table():
    grades = grade_many([(gold, pred) for gold, pred, _, _ in GRADE_TABLE], workers=2)
    got = [(g.gold, g.pred, g.math_verify, g.deepseek) for g in grades]
    assert got == GRADE_TABLE
    unknown = [g.reason for g in grades if g.math_verify is None]
    assert unknown == ["no answer parsed from pred"] * 2


def test_grade_fields_and_agreement():
    result = grade("\\frac{\\sqrt{3}}{2}", boxed("0.866"))
    assert result == Grade("\\frac{\\sqrt{3}}{2}", boxed("0.866"), False, True, "0.866")
    assert not result.agree
    assert grade("2", boxed("2")).agree
    assert not Grade("2", "", None, False, None, "no answer parsed from pred").agree


def test_math_verify_keeps_gold_first():
    # verify() is asymmetric: an inequality gold accepts an interval prediction, not reversed.
    assert math_verify_equal("x<3", "$(-\\infty,3)$") is True
    assert math_verify_equal("(-\\infty,3)", "$x<3$") is False
    assert grade("x<3", boxed("(-\\infty,3)")).math_verify is True


# (text, expected answer): each priority level of the DeepSeekMath extraction.
EXTRACT_TABLE = [
    ("So the final answer is $\\frac{1}{2}$. I hope it is correct.", "\\frac{1}{2}"),
    ("\\boxed{3}. Final Answer: The final answer is $4$. I hope it is correct.", "4"),
    ("First \\boxed{1}, then \\boxed{2}.", "2"),
    ("$\\boxed{\\frac{\\sqrt{2}}{2}}$.", "\\frac{\\sqrt{2}}{2}"),
    ("\\boxed{\\boxed{5}}", "5"),
    ("\\boxed{x^{2}} and an empty \\boxed{}", "x^{2}"),
    ("The answer is 7, or rather \\boxed{8}.", "8"),
    ("\\fbox{9}", "9"),
    ("\\boxed{\\begin{pmatrix}1\\\\\n2\\end{pmatrix}}", "\\begin{pmatrix}1\\\\ 2\\end{pmatrix}"),
    ("Truncated: so 3 and \\boxed{12", None),  # an unterminated box: no answer
    ("Thus, the answer is: 42.\nLet me double check 43.", "42"),
    ("The answer is $\\frac{3}{4}$.", "\\frac{3}{4}"),
    ("Final answer is 12", "12"),
    ("```output\n5\n```\nSo the answer is 6", "6"),
    ("```python\nprint(2 + 3)\n```\n```output\n5\n```\n", "5"),
    ("```output\n1\n```\ntry again\n```output\n2\n```", "2"),
    ("We get 3 apples and then 1,234.5 pears", "1234.5"),
    ("It drops to -7 degrees", "-7"),
    ("no digits here", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), EXTRACT_TABLE)
def test_extract_answer(text, expected):
    assert extract_answer(text) == expected


# (gold, extracted answer, expected): the DeepSeekMath rules on their own.
DEEPSEEK_TABLE = [
    ("3", None, False),
    ("3", "", False),
    ("0.5", "1/2", True),
    ("1/3", "0.333", True),  # within 1e-3
    ("1/3", "0.33", False),
    ("1000", "1000.0004", True),
    ("1000", "1000.01", False),
    ("50", "0.5", True),  # percentage variants: x, x/100, x*100
    ("50\\%", "50", True),
    ("5", "500", True),  # ... which DeepSeekMath accepts too
    ("12345678901234567890", "12345678901234567891", False),  # exact, not within 1e-3
    ("\\frac{1}{2004!}", "\\frac{1}{2006!}", False),
    ("(1,2)", "(2,1)", False),
    ("(1,2)", "(1,2.0)", True),
    ("(1,2)", "[1,2]", False),
    ("[0,1)", "[0, 1)", True),
    ("\\{1,2\\}", "2,1", True),
    ("1,2", "2,1", True),
    ("1,2", "1,2,3", False),
    ("n=2,3,4", "n=1,2,3", False),
    ("x=3", "3", True),
    ("3", "x=3", True),
    ("y=2x+1", "2x+1=y", True),
    ("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}", True),
    ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "\\begin{pmatrix}1&2\\end{pmatrix}", False),
    ("\\text{(B)}", "B", True),
    ("B", "(B)", True),
    ("B", "C", False),
    ("10\\text{ cm}", "10", True),
    ("5", "5 dollars", True),
    ("\\$5", "5", True),
    ("\\frac12", "\\dfrac{1}{2}", True),
    ("\\left(1,2\\right)", "(1,2)", True),
    ("\\infty", "inf", True),
    ("\\frac{\\sqrt{3}}{2}", "0.866", True),  # sympy, numerically (a decimal side)
    ("x^2+2x+1", "(x+1)^2", True),  # sympy, symbolically
    ("x^2+2x+1", "(x-1)^2", False),
    ("\\text{Evelyn}", "Evelyn", True),
]


def test_deepseek_table():
    got = [(gold, answer, deepseek_equal(gold, answer)) for gold, answer, _ in DEEPSEEK_TABLE]
    assert got == DEEPSEEK_TABLE


PATHOLOGICAL = [
    ("10^{10^{10^{10}}}", boxed("1")),  # a power tower in gold
    ("1", boxed("(10^{10})!")),  # a huge factorial in pred
    ("9^{9^{9^9}}", boxed("2^{2^{2^{2^{2^{2}}}}}")),  # nested powers on both sides
]


def test_pathological_inputs_cannot_hang_a_batch():
    normal = [("2", boxed("2")), ("\\frac12", boxed("0.5")), ("3", boxed("4"))]
    bad = PATHOLOGICAL
    pairs = [normal[0], bad[0], normal[1], bad[1], bad[2], normal[2]]
    start = time.monotonic()
    grades = grade_many(pairs, timeout=1.0)
    elapsed = time.monotonic() - start
    # Per pathological pair: two verdicts of at most 1 s each, plus worker restarts.
    assert elapsed < 25, elapsed
    assert [(g.math_verify, g.reason) for g in grades] == [
        (True, None),
        (None, "timeout"),
        (True, None),
        (None, "timeout"),
        (None, "timeout"),
        (False, None),
    ]
    assert [g.deepseek for g in grades] == [True, False, True, False, False, False]


def test_timeouts_in_threads_are_bounded():
    start = time.monotonic()
    with ThreadPoolExecutor(2) as executor:
        grades = list(executor.map(lambda pair: grade(*pair, timeout=1.0), PATHOLOGICAL[:2]))
    assert time.monotonic() - start < 15
    assert [g.reason for g in grades] == ["timeout", "timeout"]
    assert math_verify_equal(*PATHOLOGICAL[0], timeout=1.0) is None


PAIRS = [(gold, pred) for gold, pred, _, _ in GRADE_TABLE[:12]]


def test_grade_from_many_threads_at_once():
    expected = [grade(*pair) for pair in PAIRS]
    with ThreadPoolExecutor(8) as executor:
        got = list(executor.map(lambda pair: grade(*pair), PAIRS * 3))
    assert got == expected * 3


def test_grade_in_a_non_main_thread():
    results: list[Grade] = []
    thread = threading.Thread(target=lambda: results.append(grade("\\frac12", boxed("0.5"))))
    thread.start()
    thread.join(60)
    assert [(r.math_verify, r.deepseek) for r in results] == [(True, True)]


def test_grade_many_keeps_input_order_with_workers():
    pairs = [(str(n), boxed(str(n if n % 3 else n + 1))) for n in range(100)]
    grades = grade_many(pairs, workers=2)
    assert [(g.gold, g.pred) for g in grades] == pairs
    assert [g.math_verify for g in grades] == [n % 3 != 0 for n in range(100)]
    assert grade_many([]) == []
    with pytest.raises(ValueError):
        grade_many(pairs, workers=0)


def _grade_in_child(pair: tuple[str, str]) -> Grade:
    return grade(*pair)


def test_grade_inside_a_daemonic_worker_process():
    grade("1", boxed("1"))  # the parent has workers; a forked child must start its own
    with multiprocessing.get_context("fork").Pool(1) as pool:
        result = pool.apply(_grade_in_child, (("\\frac12", boxed("0.5")),))
    assert (result.math_verify, result.deepseek) == (True, True)
    assert grade("2", boxed("2")).math_verify is True  # the parent's workers still answer


def test_killed_idle_worker_is_replaced():
    grade("1", boxed("1"))
    for worker in list(grading._workers()._all):
        worker.process.kill()
        worker.process.wait()
    assert grade("2", boxed("2")).math_verify is True


def test_worker_bug_is_raised_not_scored():
    with pytest.raises(GradingError, match="exit code 1"):
        with grading._workers().lease() as worker:
            worker.send("no-such-job", (), 1.0)
            worker.receive(30.0)
    assert grade("2", boxed("2")).math_verify is True


# --- prover grade ------------------------------------------------------------------------


def invoke(*args: str):
    return CliRunner().invoke(main, ["grade", *map(str, args)], catch_exceptions=False)


def test_cli_single_pair_prints_both_verdicts():
    result = invoke("\\frac{\\sqrt{3}}{2}", boxed("0.866"))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "math-verify: false",
        "deepseek:    true",
        "answer:      0.866",
        "agree:       no",
    ]
    unknown = invoke("3", "")
    assert "math-verify: unknown (no answer parsed from pred)" in unknown.stdout
    assert "answer:      (none found)" in unknown.stdout


def test_cli_usage_errors():
    assert invoke().exit_code == 2
    assert invoke("1").exit_code == 2
    assert invoke("1", "2", "--pairs", "x.tsv").exit_code == 2


def write_tsv(path, rows: list[list[str]]) -> None:
    with path.open("w", newline="") as handle:
        csv.writer(handle, delimiter="\t", lineterminator="\n").writerows(rows)


def test_cli_pairs_file(tmp_path):
    tsv, out = tmp_path / "pairs.tsv", tmp_path / "verdicts.tsv"
    multiline = "Step 1\tadd.\nStep 2: \\boxed{0.5}"
    write_tsv(
        tsv,
        [
            ["id", "gold", "pred"],
            ["a", "\\frac12", multiline],  # quoted: a tab and a newline inside
            ["b", "3"],  # one field short
            ["c", "", boxed("1")],  # no gold
            ["d", "5", boxed("500")],
            ["e", "7", ""],
        ],
    )
    with tsv.open("a") as handle:
        handle.write("\nf\t1\t\\boxed{2}\textra\n")  # a blank line, then a field too many
    result = invoke("--pairs", tsv, "--workers", "2", "--out", out)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    with out.open(newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    assert rows == [
        ["\\frac12", multiline, "true", "true"],
        ["5", boxed("500"), "false", "true"],
        ["7", "", "unknown", "false"],
    ]
    stderr = result.stderr.splitlines()
    assert stderr[:3] == [
        f"{tsv}:4: skipped: 2 fields, the header has 3",
        f"{tsv}:5: skipped: empty gold",
        f"{tsv}:9: skipped: 4 fields, the header has 3",
    ]
    assert stderr[3] == (
        "graded 3 pairs (3 skipped, 0 graded as bare answers): math-verify 1 true, 1 false, "
        "1 unknown; "
        "deepseek 2 true, 1 false; graders agree on 1/3 (33.3%)"
    )


def test_cli_pairs_to_stdout(tmp_path):
    tsv = tmp_path / "pairs.tsv"
    write_tsv(tsv, [["pred", "gold"], [boxed("2"), "2"], [boxed("(2,1)"), "(1,2)"]])
    result = invoke("--pairs", tsv)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"2\t{boxed('2')}\ttrue\ttrue",
        f"(1,2)\t{boxed('(2,1)')}\tfalse\tfalse",
    ]
    assert "graders agree on 2/2 (100.0%)" in result.stderr


def test_cli_pairs_input_errors(tmp_path):
    missing = tmp_path / "missing.tsv"
    write_tsv(missing, [["gold", "answer"], ["1", "1"]])
    empty = tmp_path / "empty.tsv"
    empty.write_text("")
    cases = [
        (missing, "missing column pred"),
        (empty, "is empty"),
        (tmp_path / "absent.tsv", "file not found"),
        (tmp_path, "is a directory"),
    ]
    for path, message in cases:
        result = invoke("--pairs", path)
        assert result.exit_code == 2, result.output
        assert message in result.output and len(result.output.splitlines()) == 1


def test_cli_pairs_row_csv_rejects_is_skipped(tmp_path, monkeypatch):
    tsv = tmp_path / "pairs.tsv"
    write_tsv(tsv, [["gold", "pred"], ["1", "x" * 200], ["2", boxed("2")]])
    monkeypatch.setattr("prover.cli.grade.MAX_FIELD", 80)
    try:
        result = invoke("--pairs", tsv)
    finally:
        csv.field_size_limit(131072)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"2\t{boxed('2')}\ttrue\ttrue\n"
    assert result.stderr.startswith(f"{tsv}:2: skipped: unreadable row (field larger than")
    assert "graded 1 pairs (1 skipped, 0 graded as bare answers)" in result.stderr


def test_matrix_row_breaks_followed_by_spaces():
    """MATH golds write `\\\\ ` between rows; the space must not eat the row break."""
    result = grade(
        "\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "\\boxed{\\begin{pmatrix}1\\\\2\\end{pmatrix}}"
    )
    assert result.deepseek is True and result.math_verify is True


def test_answers_nested_past_the_recursion_limit_are_verdicts_not_crashes():
    deep = "(" * 400 + "1" + ")" * 400
    [nested, plain] = grade_many([(deep, f"\\boxed{{{deep}}}"), ("1", "\\boxed{1}")])
    assert nested.deepseek in (True, False) and plain.deepseek and plain.math_verify
