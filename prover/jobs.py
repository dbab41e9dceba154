"""Batched jobs and the records they produce, shared by the loop and by scoring.

A job asks for n samples of one prompt; `run_jobs` sends every missing sample of a stage to
the backend in ONE call and hands records to a sink as the backend finishes them, so a run can
save work incrementally. This module does not decide which jobs a stage has, and does not
write files itself.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from prover.backends.base import Backend, Completion, Prompt, Sampling, user_chat
from prover.parse import parse_generation, parse_verdict
from prover.pool import ISSUE_SCORES
from prover.prompts import Templates

Record = dict
MakeRecord = Callable[["Job", int, Completion], Record]
Sink = Callable[[list[Record]], None]
Progress = Callable[[int, int], None]  # (samples done, samples total)


@dataclass(frozen=True)
class Job:
    """`n` samples of one prompt; `key` identifies them in the records across resumes."""

    key: str
    prompt: Prompt
    n: int
    info: dict = field(default_factory=dict)


def tokens(record: Record) -> dict[str, int]:
    """Tokens a record cost; a prompt that never ran (too long for the context) cost none."""
    if record["finish_reason"] == "prompt_too_long":
        return {"prompt_tokens": 0, "completion_tokens": 0}
    return {
        "prompt_tokens": record["prompt_tokens"],
        "completion_tokens": record["completion_tokens"],
    }


def usage(records: list[Record]) -> dict[str, int]:
    counted = [tokens(r) for r in records]
    return {
        "samples": len(records),
        "prompt_tokens": sum(c["prompt_tokens"] for c in counted),
        "completion_tokens": sum(c["completion_tokens"] for c in counted),
    }


def _owners(todo: list[tuple[Job, int]]) -> tuple[list[Prompt], int, list[int]]:
    """(prompts, n, owner of each prompt). All jobs missing the same count -> one prompt each
    with that n; otherwise (after a torn resume) one n=1 copy per missing sample."""
    missing = {job.n - done for job, done in todo}
    if len(missing) == 1:
        return [job.prompt for job, _ in todo], missing.pop(), list(range(len(todo)))
    owners = [k for k, (job, done) in enumerate(todo) for _ in range(job.n - done)]
    return [todo[k][0].prompt for k in owners], 1, owners


def run_jobs(
    backend: Backend,
    jobs: list[Job],
    sampling: Sampling,
    make_record: MakeRecord,
    sink: Sink,
    have: Counter | None = None,
    progress: Progress | None = None,
) -> dict:
    """Generate the samples `jobs` still lack (`have[key]` exist already) in one call.

    Records go to `sink` batch by batch as the backend reports them; returns the usage.
    """
    have = have or Counter()
    todo = [(job, have[job.key]) for job in jobs if have[job.key] < job.n]
    if not todo:
        return {}
    prompts, n, owners = _owners(todo)
    if sampling.seed is not None and any(done for _, done in todo):
        # a resumed stage must not redraw the samples it already has
        sampling = replace(sampling, seed=sampling.seed + 7919 * sum(d for _, d in todo))
    next_index = [done for _, done in todo]
    total, written = len(prompts) * n, []
    started = time.monotonic()

    def collect(finished: list[tuple[int, Completion]]) -> None:
        batch = []
        for position, completion in finished:
            k = owners[position]
            batch.append(make_record(todo[k][0], next_index[k], completion))
            next_index[k] += 1
        sink(batch)
        written.extend(batch)
        if progress:
            progress(len(written), total)

    outs = backend.generate(prompts, n, sampling, on_samples=collect)
    if not written:  # a backend that does not report as it goes
        collect([(position, c) for position, cs in enumerate(outs) for c in cs])
    elapsed = round(time.monotonic() - started, 3)
    return usage(written) | {"prompts": len(todo), "seconds": elapsed}


def proof_record(job: Job, index: int, c: Completion) -> Record:
    parsed = parse_generation(c.text, c.finish_reason)
    return {
        "id": f"{job.key.replace('/', '-')}-{index}",
        "key": job.key,
        **job.info,
        "usable": bool(parsed.solution),
        "solution": parsed.solution,
        "self_evaluation": parsed.self_evaluation,
        "self_score": parsed.self_score,
        "reason": parsed.reason,
        "text": c.text,
        "finish_reason": c.finish_reason,
        "prompt_tokens": c.prompt_tokens,
        "completion_tokens": c.completion_tokens,
    }


def verdict_record(job: Job, index: int, c: Completion) -> Record:
    """A verification or a meta-verification (they parse the same way)."""
    verdict = parse_verdict(c.text, c.finish_reason)
    return {
        "key": job.key,
        **job.info,
        "index": index,
        "score": verdict.score,
        "reason": verdict.reason,
        "analysis": verdict.analysis,
        "finish_reason": c.finish_reason,
        "prompt_tokens": c.prompt_tokens,
        "completion_tokens": c.completion_tokens,
    }


# -- the verification jobs every stage that checks proofs builds -------------------------

Info = Callable[[str], dict]  # extra record fields for a proof id


def verification_jobs(
    templates: Templates, proofs: Mapping[str, tuple[str, str]], n: int, info: Info | None = None
) -> list[Job]:
    """n verifications of each proof; `proofs` maps a proof id to (problem, proof)."""
    info = info or (lambda _: {})
    return [
        Job(pid, user_chat(templates.verification(problem, proof)), n, {"proof": pid} | info(pid))
        for pid, (problem, proof) in proofs.items()
    ]


def meta_jobs(
    templates: Templates,
    proofs: Mapping[str, tuple[str, str]],
    verifications: Iterable[Record],
    n: int,
    info: Info | None = None,
) -> list[Job]:
    """n meta-verifications of each analysis (of a proof in `proofs`) that found issues."""
    info = info or (lambda _: {})
    jobs = []
    for v in verifications:
        if v["proof"] not in proofs or v["score"] not in ISSUE_SCORES:
            continue
        prompt = user_chat(templates.meta(*proofs[v["proof"]], v["analysis"]))
        fields = {"proof": v["proof"], "verification": v["index"]} | info(v["proof"])
        jobs.append(Job(f"{v['proof']}/v{v['index']}", prompt, n, fields))
    return jobs
