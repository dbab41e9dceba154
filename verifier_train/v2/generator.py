"""The DeepSeekMath-V2 generator stage: GRPO on problems, rewarded by a verifier model.

The generator writes `## Solution` then `## Self Evaluation` with a boxed self score (the
project's `proof_generation` template asks for exactly that); its reward is
`v2.rewards.generator_reward`: R_format · (α·R_proof + β·R_self), with the verifier (and the
optional meta-verifier) behind any backend — in-process HF, vLLM, or an OpenAI-compatible
server such as a separate `vllm serve` of the verifier. Completions the verifier cannot score
are None (left out of their group) and counted in `rewards/generator_reward/unscorable_frac`.

Problems come from `.tex` files (`prover.texinput`) or JSONL/JSON/CSV records with a
`problem` (or `question`) field.

This module does NOT train the verifier, sample new proofs for labelling, or start servers.
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

PROBLEM_KEYS = ("problem", "question", "statement")


def _problem_of(record: Any) -> str | None:
    if not isinstance(record, dict):
        return None
    value = next((record[k] for k in PROBLEM_KEYS if record.get(k)), None)
    return value.strip() if isinstance(value, str) and value.strip() else None


def read_problems(paths: Sequence[Path]) -> tuple[list[str], list[BadRecord]]:
    """Problem statements from .tex files and record files; bad records are skipped."""
    from prover.texinput import read_problems as read_tex

    problems, skipped = [], []
    for path in paths:
        if not path.is_file():
            raise InputError(f"no such file: {path}")
        if path.suffix == ".tex":
            problems += [p.text for p in read_tex(path)]
            continue
        for line, record in read_records(path):
            problem = None if isinstance(record, Invalid) else _problem_of(record)
            if problem is None:
                reason = str(record) if isinstance(record, Invalid) else "no problem field"
                skipped.append(BadRecord(str(path), line, reason))
            else:
                problems.append(problem)
    return problems, skipped


def generator_rows(problems: Sequence[str], templates: Templates, tokenizer: Any) -> list[dict]:
    """Training rows: the generation prompt and the `problem` column the reward reads."""
    return [
        {"prompt": trl_prompt(tokenizer, user_chat(templates.generation(p))), "problem": p}
        for p in problems
    ]


def proof_line(job: Any, index: int, completion: Any) -> dict:
    """A sampled proof as a record `prover label` / `prover score` read: `problem`, `proof`
    (the solution part), plus the generation's own fields (self score, tokens, ...)."""
    from prover.jobs import proof_record

    record = proof_record(job, index, completion)
    return record | {"proof": record["solution"]}


def sample_proofs(make_backend: Any, problems: Sequence[str], templates: Templates, n: int,
                  sampling: Any, out: Path) -> int:  # fmt: skip
    """`n` proofs per problem appended to `out` as they finish; a re-run samples only what is
    missing (the backend is built only then). Returns how many were sampled now."""
    from collections import Counter

    from prover.jobs import Job, run_jobs
    from prover.rundir import append_jsonl, read_jsonl, repair_tail

    jobs = [Job(f"p{k}", user_chat(templates.generation(p)), n, {"problem": p})
            for k, p in enumerate(problems)]  # fmt: skip
    repair_tail(out)
    have = Counter(r["key"] for r in read_jsonl(out))
    if all(have[j.key] >= j.n for j in jobs):
        return 0
    out.parent.mkdir(parents=True, exist_ok=True)
    used = run_jobs(make_backend(), jobs, sampling, proof_line, lambda rs: append_jsonl(out, rs),
                    have)  # fmt: skip
    return used.get("samples", 0)
