"""Metrics: unbiased pass@k against hand-computed values, maj@k, grouped tables."""

from __future__ import annotations

from fractions import Fraction
from math import comb

import pytest

from prover.evaluation.metrics import (
    ItemResult,
    aggregate,
    grouped,
    ks_for,
    majority_correct,
    pass_at_k,
    vote_key,
)


@pytest.mark.parametrize(
    "n, c, k, expected",
    [
        (5, 2, 2, 0.7),  # 1 - C(3,2)/C(5,2) = 1 - 3/10
        (10, 3, 5, 11 / 12),  # 1 - C(7,5)/C(10,5) = 1 - 21/252
        (3, 1, 1, 1 / 3),
        (4, 0, 1, 0.0),
        (4, 0, 4, 0.0),
        (4, 4, 3, 1.0),
        (4, 1, 4, 1.0),  # n - c < k: every draw of 4 includes the correct one
        (8, 2, 4, 1 - 15 / 70),  # C(6,4)/C(8,4) = 15/70
    ],
)
def test_pass_at_k_hand_computed(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_pass_at_k_is_stable_for_large_n():
    n, c, k = 1000, 37, 200
    exact = 1 - Fraction(comb(n - c, k), comb(n, k))
    assert pass_at_k(n, c, k) == pytest.approx(float(exact), rel=1e-12)
    assert pass_at_k(10_000, 1, 1) == pytest.approx(1e-4)


@pytest.mark.parametrize("n, c, k", [(3, 4, 1), (3, 1, 0), (3, 1, 4), (2, -1, 1)])
def test_pass_at_k_rejects_impossible_arguments(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


def test_ks_for():
    assert ks_for(1) == [1]
    assert ks_for(4) == [1, 2, 4]
    assert ks_for(6) == [1, 2, 4, 6]
    assert ks_for(16) == [1, 2, 4, 8, 16]


def test_vote_key_and_majority():
    assert vote_key(" $1,000$. ") == vote_key("1000") == vote_key("1000.0") == "1000"
    assert vote_key("\\frac{1}{2}") == vote_key("0.5") == vote_key("1/2")
    assert vote_key("\\text{ Yes }") == "yes" and vote_key(None) is None
    # "5" wins 2-1 over "6"; its first sample is wrong -> maj wrong even though "6" was right
    assert not majority_correct(["5", "6", "5.0"], [False, True, False])
    assert majority_correct(["6", None, "5", "6"], [True, False, False, True])
    assert majority_correct(["7", "5"], [True, False])  # a tie goes to the first answer
    assert not majority_correct([None, None], [False, False])


def result(id, correct, answers, mv=None, **kw):
    mv = tuple(correct) if mv is None else tuple(mv)
    return ItemResult(id, tuple(correct), mv, tuple(answers), **kw)


def test_aggregate_table():
    results = [
        result("a", [True, True, False, False], ["1", "1", "2", "2"], subject="alg", level="1"),
        result("b", [False, False, False, True], ["3", "3", "4", None], subject="alg"),
        result(
            "c", [False] * 4, [None] * 4, mv=[None, None, True, False], subject="geo", level="1"
        ),
    ]
    m = aggregate(results)
    assert m["items"] == 3 and m["samples"] == 4
    assert m["accuracy"] == pytest.approx((0.5 + 0.25 + 0) / 3)
    assert m["maj@4"] == pytest.approx(1 / 3)
    assert m["pass@1"] == pytest.approx(m["accuracy"])
    assert m["pass@2"] == pytest.approx((1 - 1 / 6 + 0.5 + 0) / 3)  # C(2,2)/C(4,2); C(3,2)/C(4,2)
    assert m["pass@4"] == pytest.approx(2 / 3)
    assert m["math_verify_accuracy"] == pytest.approx(4 / 12)
    assert m["math_verify_unknown"] == 2 and m["grader_disagreements"] == 1
    assert "program_accuracy" not in m and "gym_score" not in m

    table = grouped(results)
    assert set(table) == {"overall", "by_subject", "by_level"}
    assert table["by_subject"]["alg"]["items"] == 2
    assert table["by_subject"]["geo"]["accuracy"] == 0
    assert list(table["by_level"]) == ["1"] and table["by_level"]["1"]["items"] == 2


def test_program_and_gym_scores_and_empty_groups():
    results = [
        result("a", [True], ["1"], program=(True,), gym=(1.0,)),
        result("b", [False], ["2"], program=(None,), gym=(0.0,)),
    ]
    m = aggregate(results)
    assert m["program_accuracy"] == 0.5 and m["programs_run"] == 1 and m["gym_score"] == 0.5
    assert "by_subject" not in grouped(results)
    assert aggregate([]) == {"items": 0, "samples": 0}
