"""The DeepSeekMath-V2 verifier and meta-verifier stages: GRPO on graded proofs and graded
analyses, with the project's prompt templates and the rewards of `verifier_train.v2.rewards`.

- verifier data: `(problem, proof, expert score)` records, read by `prover.proofsets` (plain
  `{problem, proof, grade}` rows, DeepSeekMath-V2 output files with human ratings,
  IMO-ProofBench rows); the target is the grade normalized to [0, 1];
- meta-verifier data: `(problem, proof, analysis, meta score)` records;
- `joint_rows` mixes both into one dataset with a `task` column and `joint_reward` dispatches
  each completion to its task's reward, so one model learns both tasks (as the paper does).

This module does NOT sample proofs or analyses, label data (see `verifier_train.v2.autolabel`),
or serve the meta-verifier (pass any backend wrapped in a `v2.rewards.Judge`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prover.backends.base import user_chat
from prover.errors import InputError
from prover.prompts import Templates
from prover.records import BadRecord, Invalid, read_records
from verifier_train.grpo import trl_prompt
from verifier_train.v2.rewards import meta_verifier_reward

META_FIELDS = ("problem", "proof", "analysis")
META_SCORE_KEYS = ("meta_score", "score", "label")


def read_verifier_data(paths: Sequence[Path]) -> tuple[list[dict], list[BadRecord]]:
    """{problem, proof, score} rows from graded proof files; ungraded records are skipped."""
    from prover.proofsets import read_proofs

    items, bad = read_proofs(list(paths))
    skipped = [b for b in bad]
    rows = []
    for item in items:
        if item.normalized is None:
            skipped.append(BadRecord(item.file, item.line, "no grade"))
            continue
        rows.append({"problem": item.problem, "proof": item.proof, "score": item.normalized})
    return rows, skipped


def _meta_row(record: Any) -> dict | str:
    """One meta-verifier row, or why the record cannot be one."""
    if not isinstance(record, dict):
        return "not an object"
    missing = [f for f in META_FIELDS if not isinstance(record.get(f), str) or not record[f]]
    if missing:
        return f"missing {', '.join(missing)}"
    key = next((k for k in META_SCORE_KEYS if record.get(k) is not None), None)
    try:
        score = float(record[key]) if key else None
    except (TypeError, ValueError):
        score = None
    if score is None or not 0.0 <= score <= 1.0:
        return "no meta score in [0, 1] (meta_score, score or label)"
    return {f: record[f] for f in META_FIELDS} | {"meta_score": score}


def read_meta_data(paths: Sequence[Path]) -> tuple[list[dict], list[BadRecord]]:
    """{problem, proof, analysis, meta_score} rows; bad records are skipped with a reason."""
    rows, skipped = [], []
    for path in paths:
        if not path.is_file():
            raise InputError(f"no such file: {path}")
        for line, record in read_records(path):
            row = record if isinstance(record, Invalid) else _meta_row(record)
            if isinstance(row, str):
                skipped.append(BadRecord(str(path), line, str(row)))
            else:
                rows.append(row)
    return rows, skipped


def verifier_rows(rows: Sequence[dict], templates: Templates, tokenizer: Any) -> list[dict]:
    """Training rows: the verification prompt plus the columns the reward reads."""
    return [
        row | {"prompt": trl_prompt(tokenizer, user_chat(templates.verification(
            row["problem"], row["proof"]))), "task": "verification"}
        for row in rows
    ]  # fmt: skip


def meta_rows(rows: Sequence[dict], templates: Templates, tokenizer: Any) -> list[dict]:
    """Training rows for the meta-verifier: the meta prompt plus the reward's columns."""
    return [
        row | {"prompt": trl_prompt(tokenizer, user_chat(templates.meta(
            row["problem"], row["proof"], row["analysis"]))), "task": "meta"}
        for row in rows
    ]  # fmt: skip


def joint_rows(verification: Sequence[dict], meta: Sequence[dict]) -> list[dict]:
    """Both tasks in one dataset; every row gets every column (None where not its task)."""
    keys = {"problem", "proof", "score", "analysis", "meta_score", "prompt", "task"}
    return [{k: row.get(k) for k in keys} for row in [*verification, *meta]]


def joint_reward(verifier_fn):
    """A reward that scores verification rows with `verifier_fn` and meta rows with the
    meta-verifier reward; one batch may hold both (TRL groups rows of one prompt)."""

    def joint_reward(completions, task, **columns: Any) -> list[float | None]:
        out: list[float | None] = [None] * len(completions)
        for name, fn in (("verification", verifier_fn), ("meta", meta_verifier_reward)):
            idx = [k for k, t in enumerate(task) if t == name]
            if not idx:
                continue
            cols = {c: [v[k] for k in idx] for c, v in columns.items() if isinstance(v, list)}
            for k, r in zip(idx, fn([completions[k] for k in idx], **cols), strict=True):
                out[k] = r
        return out

    return joint_reward
