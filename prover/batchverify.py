"""Resumable, staged verification of a proof set into one output JSONL line per proof: the
engine behind `prover score` (`prover.scoring.BatchScorer`) and `prover label`
(`verifier_train.v2.autolabel.AutoLabeler`).

Two stages, one batched backend call each (`prover.jobs.run_jobs`): n verifications of every
proof, then m meta-verifications of every analysis that found issues (none when m is 0).
Every record lands in a run directory as the backend finishes it, and a proof's output line
is appended as soon as it is done, so a killed run resumes without recomputing anything. The
run's records are held in memory, so writing a line costs no re-reading.

What differs between scoring and labelling is an `Output`: when a proof is done, and what
its line holds. What they share around the engine is a `ProofSetRun`: the proof files (read
through `prover.proofsets`), the output file beside its run directory and summary, and the
resume rule (`check_out`). This module does not parse records or decide what a line means.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from prover.backends.base import Backend, Sampling
from prover.errors import InputError
from prover.jobs import Job, meta_jobs, run_jobs, verification_jobs
from prover.progress import Reporter
from prover.prompts import Templates
from prover.proofsets import ProofItem, parse_map, read_proofs
from prover.records import BadRecord
from prover.rundir import RunDir, append_jsonl, read_jsonl, repair_tail
from prover.runrecords import META, VERIFICATIONS, RunRecords, Verification, by_proof

VERIFY, META_VERIFY = "verify", "meta-verify"  # the stages, as progress names them
END = "end"  # both stages have run: a proof not done by now is written only if `done` says so
KIND = {VERIFY: VERIFICATIONS, META_VERIFY: META}


@dataclass(frozen=True)
class Stages:
    """n verifications per proof, m meta-verifications per issue-finding analysis (0: no
    meta stage), and the sampling of each stage."""

    verifications: int
    meta: int
    sampling: Sampling
    meta_sampling: Sampling


class Output(Protocol):
    """The part of a run that differs between scoring and labelling."""

    def done(self, stage: str, verifications: list[Verification], meta: list[Verification]) -> bool:
        """Whether a proof's line can be written now, after a batch of `stage` (or at END)."""
        ...

    def line(
        self, item: ProofItem, verifications: list[Verification], meta: list[Verification]
    ) -> dict:
        """The output line of a proof, from its own records."""
        ...


class BatchVerifier:
    """Verifies proof items into `out` (one JSONL line per proof) with a run directory that
    keeps every verification and meta-verification as it finishes."""

    def __init__(
        self,
        verifier: Backend,
        stages: Stages,
        output: Output,
        run: RunDir,
        out: Path,
        templates: Templates | None = None,
        reporter: Reporter | None = None,
        meta_verifier: Backend | None = None,
    ):
        self.backends = {VERIFY: verifier, META_VERIFY: meta_verifier or verifier}
        self.stages, self.output, self.out = stages, output, out
        self.templates = templates or Templates.load()
        self.reporter = reporter or Reporter()
        repair_tail(out)  # a line torn by a kill is redone, not appended to
        self.written: set[str] = {r["id"] for r in read_jsonl(out)}
        self.records = RunRecords(run)
        self.held = {kind: by_proof(self.records.get(kind)) for kind in KIND.values()}

    def verify(self, items: list[ProofItem]) -> list[dict]:
        """Run what is missing of both stages; returns the output line of every item."""
        todo = {item.id: item for item in items if item.id not in self.written}
        proofs = {pid: (item.problem, item.proof) for pid, item in todo.items()}
        jobs = verification_jobs(self.templates, proofs, self.stages.verifications)
        self._stage(VERIFY, jobs, todo)
        if self.stages.meta:
            analyses = [v for pid in todo for v in self.held[VERIFICATIONS][pid]]
            jobs = meta_jobs(self.templates, proofs, analyses, self.stages.meta)
            self._stage(META_VERIFY, jobs, todo)
        self._write([i for i in todo.values() if self._done(END, i.id)])  # done before a kill
        wanted = {item.id for item in items}
        return [r for r in read_jsonl(self.out) if r["id"] in wanted]

    def _stage(self, stage: str, jobs: list[Job], todo: dict[str, ProofItem]) -> None:
        kind = KIND[stage]
        held = self.held[kind]
        have = Counter(r.key for pid in todo for r in held[pid])

        def sink(records: list[Verification]) -> None:
            self.records.append(kind, records)
            for r in records:
                held[r.proof].append(r)
            finished = dict.fromkeys(r.proof for r in records)  # in order, once each
            self._write([todo[pid] for pid in finished if self._done(stage, pid)])

        total = sum(max(0, job.n - have[job.key]) for job in jobs)
        sampling = self.stages.meta_sampling if kind == META else self.stages.sampling
        with self.reporter.stage(stage, total) as progress:
            run_jobs(
                self.backends[stage], jobs, sampling, Verification.sampled, sink, have, progress
            )

    def _done(self, stage: str, pid: str) -> bool:
        return self.output.done(stage, self.held[VERIFICATIONS][pid], self.held[META][pid])

    def _write(self, items: list[ProofItem]) -> None:
        items = [i for i in dict.fromkeys(items) if i.id not in self.written]
        if not items:
            return
        verdicts, meta = self.held[VERIFICATIONS], self.held[META]
        append_jsonl(self.out, [self.output.line(i, verdicts[i.id], meta[i.id]) for i in items])
        self.written.update(i.id for i in items)


# -- what scoring and labelling share around the engine -----------------------------------


@dataclass(frozen=True)
class ProofSetRun:
    """The proof files of a scoring or labelling run, how to read them, and its output."""

    files: tuple[Path, ...]
    out: Path | None = None  # None: the command's default output
    resume: bool = False
    mapping: tuple[str, ...] = ()  # FIELD=COLUMN
    scale: float | None = None  # maximum human grade
    limit: int | None = None  # only the first N proofs
    template_dir: str | None = None

    def read(self, reporter: Reporter, nothing: str) -> tuple[list[ProofItem], list[BadRecord]]:
        """(the first `limit` proof items, the bad records, each logged as skipped); an
        InputError "`nothing` in FILES" when no item is left."""
        items, bad = read_proofs(list(self.files), parse_map(self.mapping), self.scale)
        for record in bad:
            reporter.log(f"skipped {record}")
        items = items[: self.limit] if self.limit else items
        if not items:
            raise InputError(f"{nothing} in {', '.join(str(f) for f in self.files)}")
        return items, bad

    def resolved(self) -> list[str]:
        """The input files as a resumed run's fingerprint names them."""
        return [str(f.resolve()) for f in self.files]


def run_paths(out: Path) -> tuple[Path, Path]:
    """(run directory beside the output, summary file beside the output)."""
    stem = out.name.removesuffix(".jsonl")
    return out.with_name(out.name + ".run"), out.with_name(stem + ".summary.json")


def check_out(out: Path, resume: bool) -> None:
    """An output that is a directory, sits under a file, or exists without `resume`: one line."""
    if out.is_dir():
        raise InputError(f"--out {out} is a directory; give a file name such as {out}/scores.jsonl")
    if any(parent.is_file() for parent in out.parents):
        raise InputError(f"--out {out}: a parent of it is a file")
    if out.exists() and not resume:
        raise InputError(f"{out} exists; pass --resume to continue it or choose another --out")
