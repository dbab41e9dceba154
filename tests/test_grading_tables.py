"""Answer grading on tables: bare answers of every class (alone, boxed, and in a sentence) and
Math-Verify's own regression cases, each against plain Math-Verify on the same cases
(benchmarks/grading_agreement.py prints the same figures)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from prover.grading import grade_many

ROOT = Path(__file__).resolve().parents[1]
CLASSES = {
    "fraction", "radical", "polynomial", "interval", "set", "tuple", "matrix", "unit",
    "percent", "degree", "complex", "thousands",
}  # fmt: skip

# Bare answers both graders get wrong, and why; any other miss is a regression.
KNOWN_MISSES = {
    ("2i", "(1+i)^2"),  # `i` parses as a symbol, not the imaginary unit
    ("5", "(2+i)(2-i)"),  # the same
    ("\\frac{1}{3}", "0.\\overline{3}"),  # no repeating decimals
    ("[2,5]", "2 \\le x \\le 5"),  # an inequality is not an interval (Math-Verify's design)
}


def _load_benchmark():
    path = ROOT / "benchmarks" / "grading_agreement.py"
    spec = importlib.util.spec_from_file_location("grading_agreement", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


bench = _load_benchmark()


@pytest.fixture(scope="module")
def agreements() -> dict[str, object]:
    return {result.table: result for result in bench.all_agreements(workers=2)}


def test_bare_table_covers_every_class_both_ways():
    cases = bench.bare_cases()
    assert {c.group for c in cases} == CLASSES
    for group in CLASSES:
        assert {c.expected for c in cases if c.group == group} == {True, False}, group


@pytest.mark.parametrize("form", [None, *bench.OUTPUT_FORMS])
def test_bare_answers_in_every_form_miss_only_known_cases(form):
    cases = bench.bare_cases()
    graded = cases if form is None else bench.in_output(cases, form)
    grades = grade_many([(c.gold, c.pred) for c in graded], workers=2, pred_kind="auto")
    misses = {
        (c.gold, c.pred)
        for c, g in zip(cases, grades, strict=True)
        if bool(g.math_verify) != c.expected and g.deepseek != c.expected
    }
    assert misses <= KNOWN_MISSES
    if form is None:
        assert all(g.as_answer for g in grades)
        assert [g.answer for g in grades] == [c.pred.strip() for c in cases]
    else:
        assert not any(g.as_answer for g in grades)


def test_bare_tables_at_least_as_good_as_plain_math_verify(agreements):
    for name in ("bare answers", "bare answers, boxed output", "bare answers, sentence output"):
        result = agreements[name]
        assert result.best >= result.plain, result
    # Read as outputs (how `prover grade` read bare answers before), most of them were missed.
    assert agreements["bare answers, read as outputs"].best < 0.6


def test_math_verify_regression_table_within_one_point(agreements):
    for kind in ("auto", "output"):
        result = agreements[f"Math-Verify test_all.py ({kind})"]
        assert result.cases == len(bench.math_verify_cases()) > 150
        assert result.math_verify >= result.plain - 0.01, result


def test_render_lists_every_table(agreements):
    text = bench.render(list(agreements.values()))
    assert text.splitlines()[0].split() == [
        "table",
        "cases",
        "plain",
        "MV",
        "MV",
        "DeepSeek",
        "best",
    ]
    assert len(text.splitlines()) == 1 + len(agreements)
