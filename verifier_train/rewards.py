"""Reward functions for GRPO, as plain batch functions `f(completions, **columns) -> rewards`.

Each returns one reward per completion, or None where the completion cannot be scored (TRL
turns None into NaN and leaves that completion out of its group's baseline). Completions come
either as strings or, for conversational datasets, as TRL's lists of message dicts.

This module does NOT train anything, load reward models, or call TRL: it only scores text.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prover.grading import grade_many

Completion = str | Sequence[dict[str, Any]]


def completion_text(completion: Completion) -> str:
    """The text of one completion: the string itself, or its assistant messages joined."""
    if isinstance(completion, str):
        return completion
    parts = [
        m.get("content") or "" for m in completion if m.get("role", "assistant") == "assistant"
    ]
    return "".join(part if isinstance(part, str) else str(part) for part in parts)


def answer_reward(
    completions: Sequence[Completion],
    answer: Sequence[str | None],
    workers: int = 1,
    timeout: float = 5.0,
    **_: Any,
) -> list[float | None]:
    """1.0 where the DeepSeekMath grader accepts the completion's answer against the gold
    `answer` column, else 0.0; None for an empty completion or a missing gold answer."""
    if len(completions) != len(answer):
        raise ValueError(f"{len(completions)} completions but {len(answer)} answers")
    texts = [completion_text(c) for c in completions]
    scorable = [i for i, (t, g) in enumerate(zip(texts, answer, strict=True)) if t.strip() and g]
    grades = grade_many([(str(answer[i]), texts[i]) for i in scorable], workers, timeout)
    rewards: list[float | None] = [None] * len(texts)
    for i, grade in zip(scorable, grades, strict=True):
        rewards[i] = 1.0 if grade.deepseek else 0.0
    return rewards
