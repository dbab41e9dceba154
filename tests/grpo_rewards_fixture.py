"""Reward functions that `prover train grpo --reward tests/grpo_rewards_fixture.py:NAME` loads
in the tests (importable by file path, like a user's own reward file)."""

from __future__ import annotations


def length(completions, **_) -> list[float]:
    """Spread across a group, so advantages (and the update) are not all zero."""
    return [len(str(c)) / 40 for c in completions]


def half_nan(completions, **_) -> list[float]:
    """Every other completion unscorable through NaN."""
    return [float("nan") if k % 2 else 1.0 for k in range(len(completions))]


def broken(completions, **_) -> list[float]:
    raise ZeroDivisionError("division by zero in the user's reward")


def short(completions, **_) -> list[float]:
    return [1.0]
