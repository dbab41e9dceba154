"""Verify given proofs V times each (and optionally meta-verify the analyses that find issues),
one batched backend call per stage: `verify_proofs` for a few proofs in memory (`prover
verify`), `BatchScorer` for whole proof sets written incrementally (`prover score`). This
module does not read input files or compute agreement with human grades.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from prover.backends.base import Backend, Sampling
from prover.jobs import (
    Progress,
    Record,
    meta_jobs,
    run_jobs,
    usage,
    verdict_record,
    verification_jobs,
)
from prover.pool import ProofStats
from prover.progress import Reporter
from prover.prompts import Templates
from prover.proofsets import ProofItem
from prover.rundir import RunDir, append_jsonl, read_jsonl, repair_tail


def verify_proofs(
    backend: Backend,
    items: list[tuple[str, str]],
    verifications: int,
    sampling: Sampling,
    templates: Templates | None = None,
    meta: int = 0,
    progress: Progress | None = None,
) -> list[ProofStats]:
    """Verify each (problem, proof) `verifications` times, and meta-verify each analysis that
    found issues `meta` times. Returns one `ProofStats` per item, in order."""
    templates = templates or Templates.load()
    proofs = {str(k): item for k, item in enumerate(items)}
    records: list[Record] = []
    jobs = verification_jobs(templates, proofs, verifications)
    run_jobs(backend, jobs, sampling, verdict_record, records.extend, progress=progress)
    checks: list[Record] = []
    if meta:
        jobs = meta_jobs(templates, proofs, records, meta)
        run_jobs(backend, jobs, sampling, verdict_record, checks.extend)
    verdicts, metas = by_proof(records), by_proof(checks)
    return [stats_of(pid, verdicts[pid], metas[pid]) for pid in proofs]


def by_proof(records: list[Record]) -> defaultdict[str, list[Record]]:
    grouped: defaultdict[str, list[Record]] = defaultdict(list)
    for record in records:
        grouped[record["proof"]].append(record)
    return grouped


def stats_of(pid: str, verifications: list[Record], meta: list[Record]) -> ProofStats:
    """One proof from its own verifications (put in index order) and meta-verifications."""
    stats = ProofStats({"id": pid}, sorted(verifications, key=lambda v: v["index"]))
    for m in meta:
        stats.meta.setdefault(m["verification"], []).append(m)
    return stats


def verification_report(stats: ProofStats) -> dict:
    """Mean score, every score and analysis (with its meta-verifications), and tokens."""
    meta = [m for ms in stats.meta.values() for m in ms]
    return {
        "mean_score": stats.mean,
        "scores": [v["score"] for v in stats.verifications],
        "verifications": [
            {
                "score": v["score"],
                "reason": v["reason"],
                "analysis": v["analysis"],
                "meta": [
                    {"score": m["score"], "reason": m["reason"], "analysis": m["analysis"]}
                    for m in stats.meta.get(v["index"], [])
                ],
            }
            for v in stats.verifications
        ],
        "tokens": {"verify": usage(stats.verifications), "meta": usage(meta)},
    }


# -- batch scoring of proof sets ---------------------------------------------------------


@dataclass(frozen=True)
class ScoreConfig:
    verifications: int = 4  # V
    meta: int = 0  # meta-verifications per issue-finding analysis (0: none)
    sampling: Sampling = field(default_factory=Sampling)


class BatchScorer:
    """Scores proof items into `out` (one JSONL record per proof) with a run directory beside
    it that keeps every verification as it finishes, so a killed run resumes exactly. The
    records of the run are held in memory, so writing a proof's line costs no re-reading."""

    def __init__(
        self,
        backend: Backend,
        config: ScoreConfig,
        run: RunDir,
        out: Path,
        templates: Templates | None = None,
        reporter: Reporter | None = None,
    ):
        self.backend, self.config, self.run, self.out = backend, config, run, out
        self.templates = templates or Templates.load()
        self.reporter = reporter or Reporter()
        repair_tail(out)  # a line torn by a kill is redone, not appended to
        self.written: set[str] = {r["id"] for r in read_jsonl(out)}
        self.records = {kind: by_proof(run.records(kind)) for kind in ("verifications", "meta")}

    def score(self, items: list[ProofItem]) -> list[dict]:
        """Verify (and meta-verify) what is missing; returns the output record of every item."""
        todo = {item.id: item for item in items if item.id not in self.written}
        proofs = {pid: (item.problem, item.proof) for pid, item in todo.items()}
        jobs = verification_jobs(self.templates, proofs, self.config.verifications)
        self._stage("verify", jobs, "verifications", todo)
        if self.config.meta:
            analyses = [v for pid in todo for v in self.records["verifications"][pid]]
            jobs = meta_jobs(self.templates, proofs, analyses, self.config.meta)
            self._stage("meta-verify", jobs, "meta", todo)
        self._write([i for i in todo.values() if i.id not in self.written])  # done before a kill
        wanted = {item.id for item in items}
        return [r for r in read_jsonl(self.out) if r["id"] in wanted]

    def _stage(self, name: str, jobs, kind: str, todo: dict[str, ProofItem]) -> None:
        held = self.records[kind]
        have = Counter(r["key"] for pid in todo for r in held[pid])
        finishing = kind == "verifications" and not self.config.meta

        def sink(records: list[Record]) -> None:
            self.run.append(kind, records)
            for r in records:
                held[r["proof"]].append(r)
            if finishing:  # a proof's line lands as soon as its V verdicts are in
                done = {r["proof"] for r in records}
                full = [todo[pid] for pid in done if len(held[pid]) == self.config.verifications]
                self._write(full)

        total = sum(max(0, job.n - have[job.key]) for job in jobs)
        with self.reporter.stage(name, total) as progress:
            run_jobs(self.backend, jobs, self.config.sampling, verdict_record, sink, have, progress)

    def _write(self, items: list[ProofItem]) -> None:
        items = [i for i in dict.fromkeys(items) if i.id not in self.written]
        if not items:
            return
        verdicts, meta = self.records["verifications"], self.records["meta"]
        append_jsonl(self.out, [output_record(i, verdicts[i.id], meta[i.id]) for i in items])
        self.written.update(i.id for i in items)


def output_record(item: ProofItem, verifications: list[Record], meta: list[Record]) -> dict:
    """The line of one proof (from its own records): id, mean score, every score and analysis,
    human grade."""
    stats = stats_of(item.id, verifications, meta)
    report = verification_report(stats)
    reasons = sorted({v["reason"] for v in stats.verifications if v["reason"]})
    return {
        "id": item.id,
        "file": item.file,
        "line": item.line,
        "problem_id": item.problem_id,
        "level": item.level,
        "source": item.source,
        "mean_score": report["mean_score"],
        "scores": report["scores"],
        "unscored_reasons": reasons,
        "human_grade": item.grade,
        "scale": item.scale,
        "human": item.normalized,
        "verifications": report["verifications"],
        "tokens": report["tokens"],
    }
