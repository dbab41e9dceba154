"""The test-time generate -> verify -> meta-verify -> refine loop of DeepSeekMath-V2.

Per round, over all unsolved problems at once:
  1. generate P proofs (round 0) or refine the top K proofs of the pool (later rounds);
  2. verify every new proof V times; 3. optionally meta-verify the issue-finding analyses;
  4. stop a problem once one of its proofs passes all V verifications.
Each stage is ONE batched backend call, and its records land in the run directory before the
next stage starts; a resumed run derives from those records what is still missing. This module
does not parse LaTeX or print results (see `prover.texinput` and `prover.cli`).
"""

from __future__ import annotations

import functools
import math
import time
from collections import Counter
from dataclasses import dataclass, field, replace

from prover.backends.base import Backend, Completion, Prompt, Sampling
from prover.parse import parse_generation, parse_meta, parse_verification
from prover.pool import ISSUE_SCORES, ProofStats, best, build_pools, ranked
from prover.progress import Reporter
from prover.prompts import Templates
from prover.rundir import RunDir

STAGES = ("generate", "verify", "meta-verify")  # also seeds each stage differently


@dataclass(frozen=True)
class LoopConfig:
    """Test-time settings; the defaults suit one GPU and a 7B model."""

    proofs: int = 8  # P: proofs generated per problem per round
    verifications: int = 4  # V: verifications per proof
    top_k: int = 2  # K: proofs kept for refinement
    rounds: int = 2  # refinement rounds after the first generation
    meta: bool = False  # meta-verify analyses that found issues
    meta_verifications: int = 1  # meta-verifications per such analysis
    max_analyses: int = 8  # analyses shown per proof in a refinement prompt
    generation: Sampling = field(default_factory=Sampling)
    verification: Sampling = field(default_factory=Sampling)


@dataclass(frozen=True)
class Job:
    """`n` samples of one prompt; `key` identifies them in the records across resumes."""

    key: str
    prompt: Prompt
    n: int
    info: dict = field(default_factory=dict)


def _usage(completions: list[Completion]) -> dict:
    return {
        "samples": len(completions),
        "prompt_tokens": sum(c.prompt_tokens for c in completions),
        "completion_tokens": sum(c.completion_tokens for c in completions),
    }


class Loop:
    """Runs the loop for a list of problems into one run directory."""

    def __init__(
        self,
        generator: Backend,
        verifier: Backend,
        config: LoopConfig,
        run: RunDir,
        templates: Templates | None = None,
        reporter: Reporter | None = None,
    ):
        self.generator, self.verifier = generator, verifier
        self.config, self.run = config, run
        self.templates = templates or Templates.load()
        self.reporter = reporter or Reporter()

    # -- batched execution -------------------------------------------------------------
    def run_jobs(
        self, stage: str, backend: Backend, jobs: list[Job], sampling: Sampling, kind: str
    ) -> tuple[list[tuple[Job, int, Completion]], dict]:
        """Run the missing samples of `jobs` in one backend call.

        Returns (job, sample index, completion) triples and the stage's usage. Samples that
        already have records of `kind` (from before a kill) are not generated again.
        """
        have = Counter(r["key"] for r in self.run.records(kind))
        todo = [(job, have[job.key]) for job in jobs if have[job.key] < job.n]
        if not todo:
            return [], {}
        missing = {job.n - done for job, done in todo}
        started = time.monotonic()
        with self.reporter.stage(stage, sum(job.n - done for job, done in todo)) as update:
            if hasattr(backend, "progress"):
                backend.progress = update
            if len(missing) == 1:  # the usual case: all prompts need the same n
                outs = backend.generate([j.prompt for j, _ in todo], missing.pop(), sampling)
            else:  # after a torn resume: one sample per prompt copy, still one call
                outs = self._generate_ragged(backend, todo, sampling)
            if hasattr(backend, "progress"):
                backend.progress = None
        results = [
            (job, done + i, c)
            for (job, done), cs in zip(todo, outs, strict=True)
            for i, c in enumerate(cs)
        ]
        usage = _usage([c for _, _, c in results]) | {
            "prompts": len(todo),
            "seconds": round(time.monotonic() - started, 3),
        }
        return results, usage

    @staticmethod
    def _generate_ragged(backend: Backend, todo, sampling: Sampling) -> list[list[Completion]]:
        copies = [
            (k, job.prompt) for k, (job, done) in enumerate(todo) for _ in range(job.n - done)
        ]
        flat = backend.generate([p for _, p in copies], 1, sampling)
        grouped: list[list[Completion]] = [[] for _ in todo]
        for (k, _), outs in zip(copies, flat, strict=True):
            grouped[k].extend(outs)
        return grouped

    @staticmethod
    def _seeded(sampling: Sampling, round_: int, stage: int) -> Sampling:
        if sampling.seed is None:
            return sampling
        return replace(sampling, seed=sampling.seed * 1000 + round_ * 10 + stage)

    # -- stages ------------------------------------------------------------------------
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
        prompt = self._chat(self.templates.generation(text))
        info = {"problem": pid, "round": round_, "parents": []}
        return Job(f"{pid}/r{round_}/k0", prompt, self.config.proofs, info)

    def _refinements(self, pid: str, text: str, top: list[ProofStats], round_: int) -> list[Job]:
        per_proof = math.ceil(self.config.proofs / len(top))  # keeps about P samples a round
        jobs = []
        for k, stats in enumerate(top):
            analyses = stats.issue_analyses(self.config.max_analyses)
            prompt = self._chat(
                self.templates.refinement(text, [(stats.proof["solution"], analyses)])
            )
            info = {"problem": pid, "round": round_, "parents": [stats.id]}
            jobs.append(Job(f"{pid}/r{round_}/k{k}", prompt, per_proof, info))
        return jobs

    def _stage(
        self, round_: int, name: str, backend: Backend, jobs: list[Job], kind: str, record
    ) -> dict:
        """Run one stage's missing samples in one call and append their records together."""
        sampling = self.config.generation if kind == "proofs" else self.config.verification
        sampling = self._seeded(sampling, round_, STAGES.index(name))
        results, usage = self.run_jobs(f"round {round_} · {name}", backend, jobs, sampling, kind)
        self.run.append(kind, [record(job, i, c) for job, i, c in results])
        return usage

    def generate(self, problems: dict[str, str], round_: int) -> dict:
        jobs = self.generation_jobs(problems, round_)
        return self._stage(round_, "generate", self.generator, jobs, "proofs", self._proof_record)

    def _proof_record(self, job: Job, index: int, c: Completion) -> dict:
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

    def verification_jobs(self, problems: dict[str, str], round_: int) -> list[Job]:
        jobs = []
        for p in self.run.records("proofs"):
            if not (p["usable"] and p["round"] == round_ and p["problem"] in problems):
                continue
            prompt = self.templates.verification(problems[p["problem"]], p["solution"])
            info = {"proof": p["id"], "problem": p["problem"], "round": round_}
            jobs.append(Job(p["id"], self._chat(prompt), self.config.verifications, info))
        return jobs

    def verify(self, problems: dict[str, str], round_: int) -> dict:
        jobs = self.verification_jobs(problems, round_)
        record = self._verdict_record
        return self._stage(round_, "verify", self.verifier, jobs, "verifications", record)

    def _verdict_record(self, job: Job, index: int, c: Completion, meta: bool = False) -> dict:
        verdict = (parse_meta if meta else parse_verification)(c.text, c.finish_reason)
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

    def meta_jobs(self, problems: dict[str, str], round_: int) -> list[Job]:
        proofs = {p["id"]: p for p in self.run.records("proofs")}
        jobs = []
        for v in self.run.records("verifications"):
            if v["round"] != round_ or v["problem"] not in problems:
                continue
            if v["score"] not in ISSUE_SCORES:  # only analyses that found issues are checked
                continue
            solution = proofs[v["proof"]]["solution"]
            prompt = self.templates.meta(problems[v["problem"]], solution, v["analysis"])
            info = {"proof": v["proof"], "verification": v["index"], "problem": v["problem"]}
            key = f"{v['key']}/v{v['index']}"
            n = self.config.meta_verifications
            jobs.append(Job(key, self._chat(prompt), n, info | {"round": round_}))
        return jobs

    def meta_verify(self, problems: dict[str, str], round_: int) -> dict:
        jobs = self.meta_jobs(problems, round_)
        record = functools.partial(self._verdict_record, meta=True)
        return self._stage(round_, "meta-verify", self.verifier, jobs, "meta", record)

    @staticmethod
    def _chat(content: str) -> Prompt:
        return [{"role": "user", "content": content}]

    # -- rounds ------------------------------------------------------------------------
    def pools(self, before_round: int | None = None) -> dict[str, list[ProofStats]]:
        proofs = self.run.records("proofs")
        if before_round is not None:
            proofs = [p for p in proofs if p["round"] < before_round]
        return build_pools(proofs, self.run.records("verifications"), self.run.records("meta"))

    def unsolved(self, problems: dict[str, str]) -> dict[str, str]:
        pools = self.pools()
        return {
            pid: text
            for pid, text in problems.items()
            if not any(s.passed for s in pools.get(pid, []))
        }

    def run_round(self, problems: dict[str, str], round_: int) -> dict:
        stages = {"generate": self.generate(problems, round_)}
        stages["verify"] = self.verify(problems, round_)
        if self.config.meta:
            stages["meta"] = self.meta_verify(problems, round_)
        pools = self.pools()
        summary = {pid: self._problem_summary(pools.get(pid, [])) for pid in problems}
        record = {"round": round_, "problems": summary, "stages": stages}
        self.run.append("rounds", [record])
        return record

    def _problem_summary(self, pool: list[ProofStats]) -> dict:
        top = best(pool)
        return {
            "proofs": len(pool),
            "best": top.id if top else None,
            "mean": top.mean if top else None,
            "passed": any(s.passed for s in pool),
        }

    def solve(self, problems: dict[str, str]) -> dict:
        """Run (or resume) every round; returns the report that is also written to disk."""
        self.run.start()
        done_rounds = {r["round"] for r in self.run.records("rounds")}
        for round_ in range(self.config.rounds + 1):
            active = self.unsolved(problems)
            if not active:
                break
            if round_ in done_rounds:
                continue
            record = self.run_round(active, round_)
            self._log_round(record)
        report = self.report(problems)
        self.run.write("report.json", report)
        return report

    def _log_round(self, record: dict) -> None:
        for name, usage in record["stages"].items():
            if usage:
                self.reporter.log(
                    f"round {record['round']} {name}: {usage['samples']} samples, "
                    f"{usage['prompt_tokens']}+{usage['completion_tokens']} tokens, "
                    f"{usage['seconds']:.1f}s"
                )

    def report(self, problems: dict[str, str]) -> dict:
        from prover.report import build_report

        return build_report(self.run, problems, self.config)
