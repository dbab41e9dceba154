"""Agreement statistics against hand-computed values."""

from __future__ import annotations

import pytest

from prover.agreement import (
    agreement,
    by_verifications,
    calibration,
    pearson,
    ranks,
    spearman,
    summarize,
)


def rec(mean, human, scores=None, scale=7.0, **extra):
    return {
        "mean_score": mean,
        "human": human,
        "scale": scale,
        "scores": scores if scores is not None else [mean],
        **extra,
    }


def test_correlations():
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert pearson([1, 1], [1, 2]) is None and pearson([1], [1]) is None
    assert ranks([10, 20, 20, 30]) == [1, 2.5, 2.5, 4]
    assert spearman([1, 2, 3, 4], [1, 4, 9, 16]) == pytest.approx(1.0)


def test_agreement_by_hand():
    records = [rec(1.0, 1.0), rec(0.5, 6 / 7), rec(0.0, 2 / 7), rec(1.0, 0.0), rec(None, 1.0)]
    stats = agreement(records, threshold=0.5)
    assert stats["n"] == 4
    assert stats["accuracy"] == pytest.approx(3 / 4)  # only the last graded pair disagrees
    # |1-1|*7 + |0.5-6/7|*7 + |0-2/7|*7 + |1-0|*7 = 0 + 2.5 + 2 + 7
    assert stats["mae_grade"] == pytest.approx(11.5 / 4)
    # human grades round onto the rubric: 6/7 -> 1, 2/7 -> 0.5 (rows human, columns verifier)
    assert stats["confusion"] == {
        "0.0": {"0.0": 0, "0.5": 0, "1.0": 1},
        "0.5": {"0.0": 1, "0.5": 0, "1.0": 0},
        "1.0": {"0.0": 0, "0.5": 1, "1.0": 1},
    }


def test_calibration_bins():
    rows = calibration([rec(0.1, 0.0), rec(0.15, 1.0), rec(1.0, 1.0)], bins=5)
    assert [r["n"] for r in rows] == [2, 0, 0, 0, 1]
    assert rows[0]["mean_human"] == 0.5 and rows[4]["human_pass_rate"] == 1.0


def test_variance_and_agreement_against_v():
    records = [rec(0.5, 1.0, scores=[1.0, 0.0]), rec(1.0, 1.0, scores=[1.0, 1.0])]
    rows = by_verifications(records)
    assert [r["v"] for r in rows] == [1, 2]
    # sample variances 0.5 and 0: a 1-sample mean has variance 0.25 on average, 2-sample 0.125
    assert rows[0]["variance"] == pytest.approx(0.25)
    assert rows[1]["variance"] == pytest.approx(0.125)
    assert rows[0]["agreement"]["accuracy"] == 1.0 and rows[1]["agreement"]["accuracy"] == 1.0


def test_summary_groups_and_counts():
    records = [
        rec(1.0, 1.0, level="easy", source="A", file="a", problem_id="1"),
        rec(None, 0.0, level="hard", source="B", file="b", problem_id="2"),
    ]
    summary = summarize(records)
    assert (summary["proofs"], summary["scored"], summary["unscored"]) == (2, 1, 1)
    assert summary["groups"]["level"]["easy"]["n"] == 1
    assert summary["groups"]["level"]["hard"] == {"n": 0}
