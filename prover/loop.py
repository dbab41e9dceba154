"""The test-time generate -> verify -> meta-verify -> refine loop of DeepSeekMath-V2.

Per round, over all unsolved problems at once:
  1. generate P proofs (round 0) or refine the top K proofs of the pool (later rounds);
  2. verify every new proof V times; 3. optionally meta-verify the issue-finding analyses;
  4. stop a problem once one of its proofs has mean score 1.
Each stage is ONE batched backend call whose records land in the run directory as the backend
finishes them; a resumed run derives from those records what is still missing. The records
are read once and then kept in memory (`prover.runrecords.RunRecords`) as they are written.
This module does not parse LaTeX or print results (see `prover.texinput` and `prover.cli`).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from prover.backends.base import Backend, Completion, Sampling, user_chat
from prover.jobs import Job, meta_jobs, run_jobs, verification_jobs
from prover.pool import ProofStats, build_pools, ranked
from prover.progress import Reporter
from prover.prompts import Templates
from prover.prompts.layout import (
    MAX_RATING_PER_SCORE,
    MAX_RATINGS,
    N_PROOFS_TO_REFINE,
    PUBLISHED,
    published_ratings,
)
from prover.report import build_report, summary
from prover.rundir import RunDir
from prover.runrecords import (
    META,
    PROOFS,
    ROUNDS,
    VERIFICATIONS,
    ProofRecord,
    RoundRecord,
    RunRecords,
    Verification,
)

STAGES = ("generate", "verify", "meta-verify")  # the index also varies each stage's seed


@dataclass(frozen=True)
class LoopConfig:
    """Test-time settings; the defaults suit one GPU and a 7B model."""

    proofs: int = 8  # P: proofs generated per problem per round
    verifications: int = 4  # V: verifications per proof
    top_k: int = 2  # K: proofs kept for refinement
    rounds: int = 2  # refinement rounds after the first generation
    meta: bool = False  # meta-verify analyses that found issues
    meta_verifications: int = 1  # meta-verifications per such analysis
    max_analyses: int = MAX_RATINGS  # analyses shown per proof in a refinement prompt
    # proofs shown together in one refinement prompt (main.py's n_proofs_to_refine)
    proofs_per_refinement: int = N_PROOFS_TO_REFINE
    # published layout only: analyses shown per score (main.py's max_rating_per_score)
    analyses_per_score: int = MAX_RATING_PER_SCORE
    generation: Sampling = field(default_factory=Sampling)
    verification: Sampling = field(default_factory=Sampling)


def refinement_groups(kept: int, per_prompt: int) -> list[tuple[int, ...]]:
    """Which of the `kept` best proofs (indices, best first) each refinement prompt shows:
    groups of min(per_prompt, kept), the best ones first as in main.py, at most `kept`
    prompts. With one proof per prompt, each kept proof gets its own prompt."""
    size = min(per_prompt, kept)
    return list(itertools.islice(itertools.combinations(range(kept), size), kept))


def stage_seed(sampling: Sampling, round_: int, stage: str) -> Sampling:
    """A distinct, reproducible seed per (round, stage) when a seed is set."""
    if sampling.seed is None:
        return sampling
    return replace(sampling, seed=sampling.seed * 1000 + round_ * 10 + STAGES.index(stage))


class Loop:
    """Runs the loop for a set of problems ({id: statement}) into one run directory."""

    def __init__(
        self,
        generator: Backend,
        verifier: Backend,
        config: LoopConfig,
        run: RunDir,
        templates: Templates | None = None,
        reporter: Reporter | None = None,
        notes: Mapping[str, str] | None = None,
    ):
        """`notes` ({problem id: text}) is appended to that problem's refinement prompts,
        e.g. verified lemmas from the proof graph (`prover solve --reuse`)."""
        self.generator, self.verifier = generator, verifier
        self.config, self.run = config, run
        self.records = RunRecords(run)
        self.templates = templates or Templates.load()
        self.reporter = reporter or Reporter()
        self.notes = dict(notes or {})

    # -- stages ------------------------------------------------------------------------
    def _stage(
        self,
        round_: int,
        stage: str,
        backend: Backend,
        jobs: list[Job],
        kind: str,
        make_record: Callable[[Job, int, Completion], ProofRecord | Verification],
    ) -> dict:
        """Run a stage's missing samples in one call, appending records as they finish."""
        sampling = self.config.generation if kind == PROOFS else self.config.verification
        have = Counter(r.key for r in self.records.get(kind))
        total = sum(max(0, job.n - have[job.key]) for job in jobs)
        with self.reporter.stage(f"round {round_} · {stage}", total) as progress:
            return run_jobs(
                backend,
                jobs,
                stage_seed(sampling, round_, stage),
                make_record,
                sink=lambda records: self.records.append(kind, records),
                have=have,
                progress=progress,
            )

    def generation_jobs(self, problems: dict[str, str], round_: int) -> list[Job]:
        """Round 0: P fresh proofs per problem. Later rounds: refine the top K of the pool as it
        stood when the round began, ceil(P/k) samples for each of the k <= K kept (so about
        P per round); an empty pool starts afresh."""
        pools = self.pools(before_round=round_) if round_ else {}
        jobs = []
        for pid, text in problems.items():
            top = ranked(pools.get(pid, []))[: self.config.top_k]
            jobs += (
                self._refinements(pid, text, top, round_)
                if top
                else [self._fresh(pid, text, round_)]
            )
        return jobs

    def _fresh(self, pid: str, text: str, round_: int) -> Job:
        prompt = user_chat(self.templates.generation(text))
        info = {"problem": pid, "round": round_, "parents": []}
        return Job(f"{pid}/r{round_}/k0", prompt, self.config.proofs, info)

    def _refinements(self, pid: str, text: str, top: list[ProofStats], round_: int) -> list[Job]:
        """One prompt per group of kept proofs (see `refinement_groups`), ceil(P/groups)
        samples each."""
        groups = refinement_groups(len(top), self.config.proofs_per_refinement)
        per_group = math.ceil(self.config.proofs / len(groups))
        jobs = []
        for k, group in enumerate(groups):
            attempts = [self._attempt(top[i]) for i in group]
            prompt = user_chat(self.templates.refinement(text, attempts) + self.notes.get(pid, ""))
            info = {"problem": pid, "round": round_, "parents": [top[i].id for i in group]}
            jobs.append(Job(f"{pid}/r{round_}/k{k}", prompt, per_group, info))
        return jobs

    def _attempt(self, stats: ProofStats) -> tuple[str, list[str]]:
        """A proof and the analyses its refinement prompt shows: the project's are those that
        found issues and survived meta-verification; the published layout shows what main.py
        shows (every readable analysis, by score, `analyses_per_score` per score)."""
        if self.templates.layout != PUBLISHED:
            return stats.proof.solution, stats.issue_analyses(self.config.max_analyses)
        done = sorted(stats.verifications, key=lambda v: v.index)
        scored = [(v.score, v.analysis) for v in done if v.score is not None]
        shown = published_ratings(scored, self.config.analyses_per_score, self.config.max_analyses)
        return stats.proof.solution, shown

    def _round_proofs(self, problems: dict[str, str], round_: int) -> tuple[dict, dict]:
        """This round's usable proofs as {id: (problem, solution)}, and their record fields."""
        proofs = [
            p for p in self.records.get(PROOFS)
            if p.usable and p.round == round_ and p.problem in problems
        ]  # fmt: skip
        pairs = {p.id: (problems[p.problem], p.solution) for p in proofs}
        info = {p.id: {"problem": p.problem, "round": round_} for p in proofs}
        return pairs, info

    def verification_jobs(self, problems: dict[str, str], round_: int) -> list[Job]:
        pairs, info = self._round_proofs(problems, round_)
        return verification_jobs(self.templates, pairs, self.config.verifications, info.get)

    def meta_jobs(self, problems: dict[str, str], round_: int) -> list[Job]:
        """One job per analysis of this round's proofs that found issues (score 0 or 0.5)."""
        pairs, info = self._round_proofs(problems, round_)
        analyses = self.records.get(VERIFICATIONS)
        return meta_jobs(self.templates, pairs, analyses, self.config.meta_verifications, info.get)

    def run_round(self, problems: dict[str, str], round_: int) -> RoundRecord:
        jobs = self.generation_jobs(problems, round_)
        stages = {
            "generate": self._stage(
                round_, "generate", self.generator, jobs, PROOFS, ProofRecord.sampled
            )
        }
        jobs = self.verification_jobs(problems, round_)
        stages["verify"] = self._stage(
            round_, "verify", self.verifier, jobs, VERIFICATIONS, Verification.sampled
        )
        if self.config.meta:
            jobs = self.meta_jobs(problems, round_)
            stages["meta"] = self._stage(
                round_, "meta-verify", self.verifier, jobs, META, Verification.sampled
            )
        pools = self.pools()
        problems_now = {pid: summary(pools.get(pid, [])) for pid in problems}
        record = RoundRecord(round=round_, problems=problems_now, stages=stages)
        self.records.append(ROUNDS, [record])
        return record

    # -- rounds ------------------------------------------------------------------------
    def pools(self, before_round: int | None = None) -> dict[str, list[ProofStats]]:
        proofs = self.records.get(PROOFS)
        if before_round is not None:
            proofs = [p for p in proofs if p.round < before_round]
        return build_pools(proofs, self.records.get(VERIFICATIONS), self.records.get(META))

    def unsolved(self, problems: dict[str, str], before_round: int) -> dict[str, str]:
        """The problems none of whose proofs from rounds before `before_round` passed."""
        pools = self.pools(before_round)
        return {
            pid: text
            for pid, text in problems.items()
            if not any(s.passed for s in pools.get(pid, []))
        }

    def solve(self, problems: dict[str, str]) -> dict:
        """Run (or resume) every round; returns the report that is also written to disk.

        A round is finished once its record is in `rounds.jsonl`; an unfinished round is
        completed for the problems that were unsolved when it began."""
        finished = {r.round for r in self.records.get(ROUNDS)}
        for round_ in range(self.config.rounds + 1):
            if round_ in finished:
                continue
            active = self.unsolved(problems, round_)
            if not active:
                break
            self._log_round(self.run_round(active, round_))
        report = build_report(self.records, problems, self.config)
        self.run.write("report.json", report)
        return report

    def _log_round(self, record: RoundRecord) -> None:
        for name, usage in record.stages.items():
            if usage:
                self.reporter.log(
                    f"round {record.round} {name}: {usage['samples']} samples, "
                    f"{usage['prompt_tokens']}+{usage['completion_tokens']} tokens, "
                    f"{usage['seconds']:.1f}s"
                )
