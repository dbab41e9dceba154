"""Reward-model training data: graded samples for the ORM, Math-Shepherd step labels for the
PRM, read from JSONL/JSON/CSV files with bad records reported by file and line.

- outcome: `{question | prompt, completion, label}`, label a bool, 0/1 or "true"/"false";
- process: `{question | prompt, completions: [step, ...], labels: [bool, ...]}` (TRL's
  stepwise-supervision format, as written by `verifier_train.math_shepherd`).

A `question` becomes the GRPO stage's prompt (`build_prompt(item, "cot")`); a `prompt` is raw
text or a chat (a list of {role, content}). This module does NOT tokenize or train (see
`verifier_train.reward_model`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prover.backends.base import Prompt
from prover.records import Invalid, read_records
from verifier_train.math_shepherd import question_prompt, split_steps
from verifier_train.sft_data import Rejected

KINDS = ("outcome", "process")


@dataclass(frozen=True)
class OutcomeExample:
    """A graded sample: whether `completion` answers `prompt` correctly."""

    prompt: Prompt
    completion: str
    label: bool


@dataclass(frozen=True)
class ProcessExample:
    """A solution in steps (one line each) with a correctness label per step."""

    prompt: Prompt
    steps: tuple[str, ...]
    labels: tuple[bool, ...]


def parse_prompt(value: Mapping[str, Any]) -> Prompt:
    """`prompt` (raw text or a chat: a list of {role, content}), else `question`."""
    prompt = value.get("prompt")
    if isinstance(prompt, str) and prompt.strip():
        return prompt
    if isinstance(prompt, list) and prompt and all(_is_message(m) for m in prompt):
        return [{"role": m["role"], "content": m["content"]} for m in prompt]
    question = value.get("question")
    if isinstance(question, str | int | float) and str(question).strip():
        return question_prompt(str(question).strip())
    raise ValueError("needs a non-empty `question` or `prompt` (text or a list of messages)")


def _is_message(m: Any) -> bool:
    return (
        isinstance(m, Mapping)
        and isinstance(m.get("role"), str)
        and isinstance(m.get("content"), str)
    )


def parse_label(raw: Any) -> bool:
    """A correctness label: a bool, 0/1, or "0"/"1"/"true"/"false" (CSV cells)."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().lower() in ("0", "1", "true", "false"):
        return raw.strip().lower() in ("1", "true")
    raise ValueError(f"label {raw!r} is not 0/1 or true/false")


def outcome_example(value: Mapping[str, Any]) -> OutcomeExample:
    completion = value.get("completion")
    if not isinstance(completion, str) or not completion.strip():
        raise ValueError("needs a non-empty `completion`")
    if "label" not in value:
        raise ValueError("needs a `label` (0/1 or true/false)")
    return OutcomeExample(parse_prompt(value), completion, parse_label(value["label"]))


def process_example(value: Mapping[str, Any]) -> ProcessExample:
    """Steps that hold line breaks are flattened to one line (a line break ends a step)."""
    steps, labels = value.get("completions"), value.get("labels")
    if not isinstance(steps, list) or not steps or not all(isinstance(s, str) for s in steps):
        raise ValueError("`completions` must be a non-empty list of step strings")
    if not isinstance(labels, list) or len(labels) != len(steps):
        raise ValueError(f"`labels` must be a list of {len(steps)} labels, one per step")
    flat = tuple(" ".join(split_steps(s)) for s in steps)
    if not all(flat):
        raise ValueError(f"step {[bool(s) for s in flat].index(False) + 1} is empty")
    return ProcessExample(parse_prompt(value), flat, tuple(parse_label(x) for x in labels))


def load_examples(kind: str, paths: Iterable[Path | str]) -> tuple[list, list[Rejected]]:
    """Examples of `kind` from JSONL/JSON/CSV files, and the bad records (file:line, why)."""
    parse = {"outcome": outcome_example, "process": process_example}[kind]
    examples, rejected = [], []
    for path in paths:
        for line, value in read_records(Path(path)):
            try:
                if isinstance(value, Invalid):
                    raise ValueError(str(value))
                if not isinstance(value, Mapping):
                    raise ValueError(f"a JSON {type(value).__name__}, not an object")
                examples.append(parse(value))
            except ValueError as exc:
                rejected.append(Rejected(str(path), line, str(exc)))
    return examples, rejected
