"""Verify given proofs V times each (and optionally meta-verify the analyses that find issues),
one batched backend call per stage: `verify_proofs` for a few proofs in memory (`prover
verify`), `BatchScorer` for whole proof sets written incrementally (`prover score`). This
module does not read input files or compute agreement with human grades.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from prover.backends.base import Backend, Sampling, user_chat
from prover.jobs import Job, Progress, run_jobs, usage, verdict_record
from prover.pool import ISSUE_SCORES, ProofStats
from prover.progress import Reporter
from prover.prompts import Templates
from prover.proofsets import ProofItem
from prover.rundir import RunDir, append_jsonl, read_jsonl


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
    stats = [
        ProofStats({"id": str(k), "problem": str(k), "round": 0, "solution": proof})
        for k, (_, proof) in enumerate(items)
    ]
    jobs = [
        Job(
            str(k),
            user_chat(templates.verification(problem, proof)),
            verifications,
            {"proof": str(k)},
        )
        for k, (problem, proof) in enumerate(items)
    ]
    records: list[dict] = []
    run_jobs(backend, jobs, sampling, verdict_record, records.extend, progress=progress)
    for record in sorted(records, key=lambda r: r["index"]):
        stats[int(record["proof"])].verifications.append(record)
    if meta:
        _meta_verify(backend, items, stats, meta, sampling, templates)
    return stats


def _meta_verify(
    backend: Backend,
    items: list[tuple[str, str]],
    stats: list[ProofStats],
    meta: int,
    sampling: Sampling,
    templates: Templates,
) -> None:
    jobs = [
        Job(
            f"{k}/v{v['index']}",
            user_chat(templates.meta(*items[k], v["analysis"])),
            meta,
            {"proof": str(k), "verification": v["index"]},
        )
        for k, s in enumerate(stats)
        for v in s.verifications
        if v["score"] in ISSUE_SCORES
    ]
    records: list[dict] = []
    run_jobs(backend, jobs, sampling, verdict_record, records.extend)
    for record in records:
        stats[int(record["proof"])].meta.setdefault(record["verification"], []).append(record)


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
    it that keeps every verification as it finishes, so a killed run resumes exactly."""

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
        self.written: set[str] = {r["id"] for r in read_jsonl(out)}

    def score(self, items: list[ProofItem]) -> list[dict]:
        """Verify (and meta-verify) what is missing; returns the output record of every item."""
        todo = [item for item in items if item.id not in self.written]
        by_id = {item.id: item for item in todo}
        self._verify(todo, by_id)
        if self.config.meta:
            self._meta(todo)
        self._write([i for i in todo if i.id not in self.written])  # done before a kill
        wanted = {item.id for item in items}
        return [r for r in read_jsonl(self.out) if r["id"] in wanted]

    def _verify(self, todo: list[ProofItem], by_id: dict[str, ProofItem]) -> None:
        have = Counter(r["key"] for r in self.run.records("verifications"))
        jobs = [
            Job(
                i.id,
                user_chat(self.templates.verification(i.problem, i.proof)),
                self.config.verifications,
                {"proof": i.id},
            )
            for i in todo
        ]
        counts = Counter(have)

        def sink(records: list[dict]) -> None:
            self.run.append("verifications", records)
            finished = []
            for record in records:
                counts[record["key"]] += 1
                if counts[record["key"]] == self.config.verifications and not self.config.meta:
                    finished.append(by_id[record["key"]])
            self._write(finished)  # a proof's line lands as soon as its V verdicts are in

        total = sum(max(0, job.n - have[job.key]) for job in jobs)
        with self.reporter.stage("verify", total) as progress:
            run_jobs(self.backend, jobs, self.config.sampling, verdict_record, sink, have, progress)

    def _meta(self, todo: list[ProofItem]) -> None:
        ids = {i.id: i for i in todo}
        jobs = [
            Job(
                f"{v['proof']}/v{v['index']}",
                user_chat(
                    self.templates.meta(
                        ids[v["proof"]].problem, ids[v["proof"]].proof, v["analysis"]
                    )
                ),
                self.config.meta,
                {"proof": v["proof"], "verification": v["index"]},
            )
            for v in self.run.records("verifications")
            if v["proof"] in ids and v["score"] in ISSUE_SCORES
        ]
        have = Counter(r["key"] for r in self.run.records("meta"))
        total = sum(max(0, job.n - have[job.key]) for job in jobs)
        with self.reporter.stage("meta-verify", total) as progress:
            sink = functools.partial(self.run.append, "meta")
            run_jobs(self.backend, jobs, self.config.sampling, verdict_record, sink, have, progress)

    def _write(self, items: list[ProofItem]) -> None:
        if not items:
            return
        verifications = _group(self.run.records("verifications"))
        meta = _group(self.run.records("meta")) if self.config.meta else {}
        records = [output_record(i, verifications.get(i.id, []), meta.get(i.id, [])) for i in items]
        append_jsonl(self.out, records)
        self.written.update(i.id for i in items)


def _group(records: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for record in records:
        grouped.setdefault(record["proof"], []).append(record)
    return grouped


def output_record(item: ProofItem, verifications: list[dict], meta: list[dict]) -> dict:
    """The line of one proof: id, mean score, every score and analysis, human grade."""
    stats = ProofStats({"id": item.id}, sorted(verifications, key=lambda v: v["index"]))
    for m in meta:
        stats.meta.setdefault(m["verification"], []).append(m)
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
