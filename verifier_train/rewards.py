"""Reward functions for GRPO, as plain batch functions `f(completions, **columns) -> rewards`.

Each returns one reward per completion, or None where the completion cannot be scored (TRL
turns None into NaN and leaves that completion out of its group's baseline). Completions come
either as strings or, for conversational datasets, as TRL's lists of message dicts.

`load_reward` turns a command-line spec into a reward function (reward models are loaded by
`verifier_train.reward_model`). This module does NOT train anything or call TRL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from prover.errors import InputError
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
    pairs = [(str(answer[i]), texts[i]) for i in scorable]
    grades = grade_many(pairs, workers, timeout, pred_kind="output")  # completions: outputs
    rewards: list[float | None] = [None] * len(texts)
    for i, grade in zip(scorable, grades, strict=True):
        rewards[i] = 1.0 if grade.deepseek else 0.0
    return rewards


def load_reward(spec: str) -> Callable[..., list]:
    """A reward function from a command-line spec: `answer` (the grader), `orm:PATH` (an
    outcome reward model), `prm:PATH` (a process reward model), or `module:function` /
    `file.py:function` (any batch function `f(completions, **columns)`)."""
    kind, _, rest = spec.partition(":")
    if spec == "answer":
        return answer_reward
    if kind in ("orm", "prm") and rest:
        from verifier_train import reward_model

        factory = (
            reward_model.orm_reward_function
            if kind == "orm"
            else (reward_model.prm_reward_function)
        )
        return factory(rest)
    if rest:
        return _import_function(kind, rest)
    raise InputError(f"unknown reward {spec!r}: use answer, orm:PATH, prm:PATH or module:function")


def _import_function(module: str, name: str) -> Callable[..., list]:
    """`name` from a module path or a .py file; one-line errors for what cannot be found."""
    import importlib
    import importlib.util
    from pathlib import Path

    try:
        if module.endswith(".py"):
            spec = importlib.util.spec_from_file_location(Path(module).stem, module)
            if spec is None or not Path(module).is_file():
                raise ImportError(f"no such file {module}")
            loaded = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(loaded)
        else:
            loaded = importlib.import_module(module)
    except ImportError as exc:
        raise InputError(f"cannot import reward module {module!r}: {exc}") from exc
    func = getattr(loaded, name, None)
    if not callable(func):
        raise InputError(f"{module} has no reward function {name!r}")
    return func
