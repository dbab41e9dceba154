"""Batched jobs and the records they produce, shared by the loop and by scoring.

A job asks for n samples of one prompt; `run_jobs` sends every missing sample of a stage to
the backend in ONE call and hands records to a sink as the backend finishes them, so a run can
save work incrementally. The records' schema is `prover.runrecords`. This module does not
decide which jobs a stage has, and does not write files itself.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TypeVar

from prover.backends.base import Backend, Completion, Prompt, Sampling, user_chat
from prover.prompts import Templates
from prover.runrecords import ProofRecord, Verification, usage

Record = dict  # a record as its JSON line (`prover.evaluation` keeps its samples so)
R = TypeVar("R")  # what a stage's `make_record` makes
Progress = Callable[[int, int], None]  # (samples done, samples total)


@dataclass(frozen=True)
class Job:
    """`n` samples of one prompt; `key` identifies them in the records across resumes."""

    key: str
    prompt: Prompt
    n: int
    info: dict = field(default_factory=dict)


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
    make_record: Callable[[Job, int, Completion], R],
    sink: Callable[[list[R]], None],
    have: Counter | None = None,
    progress: Progress | None = None,
) -> dict:
    """Generate the samples `jobs` still lack (`have[key]` exist already) in one call.

    Records (typed, or JSON lines: whatever `make_record` makes) go to `sink` batch by batch
    as the backend reports them; returns the usage.
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
    """The JSON line of a sampled proof, for callers that keep lines (`ProofRecord.sampled`
    is the typed record)."""
    return ProofRecord.sampled(job, index, c).to_json()


def verdict_record(job: Job, index: int, c: Completion) -> Record:
    """The JSON line of a verification or a meta-verification (`Verification.sampled` is
    the typed record)."""
    return Verification.sampled(job, index, c).to_json()


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
    verifications: Iterable[Verification | Record],
    n: int,
    info: Info | None = None,
) -> list[Job]:
    """n meta-verifications of each analysis (of a proof in `proofs`) that found issues;
    the verifications may be typed or JSON lines."""
    info = info or (lambda _: {})
    jobs = []
    for v in map(Verification.of, verifications):
        if v.proof not in proofs or not v.found_issues:
            continue
        prompt = user_chat(templates.meta(*proofs[v.proof], v.analysis))
        fields = {"proof": v.proof, "verification": v.index} | info(v.proof)
        jobs.append(Job(f"{v.proof}/v{v.index}", prompt, n, fields))
    return jobs
