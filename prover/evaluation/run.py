"""Run an answer benchmark: generate, (for PoT) execute, grade, and score, resumably.

Every missing sample of the run goes to the backend in ONE call (`prover.jobs.run_jobs`). Each
batch the backend reports is finished at once (programs run in the sandbox, answers graded by
the DeepSeekMath rules and by Math-Verify) and appended to `samples.jsonl`, so a killed run
resumes without recomputing anything; `--limit` and `--samples` may be raised on resume to
add only the missing items and samples. `metrics.json` is computed from all the records at
the end. This module does not load data, build backends or print tables.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from prover.backends.base import Backend, Completion, Sampling
from prover.evaluation.data import Item, gym_score
from prover.evaluation.metrics import ItemResult, grouped
from prover.evaluation.tasks import build_prompt, program_of, stop_words, with_output
from prover.grading import grade_many
from prover.jobs import Job, Record, run_jobs
from prover.progress import Reporter
from prover.rundir import RunDir
from prover.runrecords import usage
from prover.sandbox import Execution, SandboxConfig, run_many

SAMPLES = "samples"  # samples.jsonl: one record per generated sample
METRICS = "metrics.json"


@dataclass(frozen=True)
class EvalConfig:
    """What to run and how; `samples` is k, the samples per item."""

    task: str = "cot"
    samples: int = 1
    sampling: Sampling = field(default_factory=Sampling)
    workers: int = 2  # grading and sandbox processes
    grade_timeout: float = 5.0
    sandbox: SandboxConfig = field(default_factory=SandboxConfig)


def item_job(item: Item, config: EvalConfig) -> Job:
    info = {"gold": item.answer, "subject": item.subject, "level": item.level}
    return Job(item.id, build_prompt(item, config.task), config.samples, info)


def sample_record(job: Job, index: int, c: Completion) -> Record:
    return {
        "key": job.key,
        "id": job.key,
        "index": index,
        **job.info,
        "text": c.text,
        "finish_reason": c.finish_reason,
        "prompt_tokens": c.prompt_tokens,
        "completion_tokens": c.completion_tokens,
    }


# -- finishing a batch: execute, then grade ------------------------------------------------
def program_text(execution: Execution) -> str:
    """What the model would be shown: stdout or the error line, already cut by the sandbox as
    in the harness (first and last 50 of at most 100 characters)."""
    output = execution.output.strip()
    if execution.ok or output:
        return output
    return f"Runtime errors: {execution.status}"


def execute(records: list[Record], config: SandboxConfig, workers: int) -> None:
    """Run each record's program (PoT) and append its output block to the text, in place."""
    codes = {k: program_of(r["text"]) for k, r in enumerate(records)}
    todo = [k for k, code in codes.items() if code]
    runs = run_many([codes[k] for k in todo], config, workers) if todo else []
    for k, execution in zip(todo, runs, strict=True):
        output = program_text(execution)
        records[k]["program"] = {
            "code": codes[k],
            "status": execution.status,
            "output": output,
            "truncated": execution.truncated,
            "seconds": execution.seconds,
        }
        records[k]["text"] = with_output(records[k]["text"], output)


def grade_records(records: list[Record], items: dict[str, Item], config: EvalConfig) -> None:
    """Both verdicts for each text, and for each program output, in one `grade_many`."""
    pairs = [(r["gold"], r["text"]) for r in records]
    programs = [r for r in records if r.get("program")]
    pairs += [(r["gold"], r["program"]["output"]) for r in programs]
    grades = grade_many(
        pairs, workers=config.workers, timeout=config.grade_timeout, pred_kind="output"
    )
    for record, g in zip(records, grades[: len(records)], strict=True):
        record |= {
            "answer": g.answer,
            "deepseek": g.deepseek,
            "math_verify": g.math_verify,
            "grade_reason": g.reason,
            "gym_score": gym_score(items[record["id"]], g.answer),
        }
    for record, g in zip(programs, grades[len(records) :], strict=True):
        record["program"] |= {"answer": g.answer, "correct": g.deepseek}


def finish(records: list[Record], items: dict[str, Item], config: EvalConfig) -> list[Record]:
    if config.task == "pot":
        execute(records, config.sandbox, config.workers)
    grade_records(records, items, config)
    return records


# -- the run -------------------------------------------------------------------------------
def run_eval(
    backend: Backend,
    items: Sequence[Item],
    config: EvalConfig,
    run: RunDir,
    reporter: Reporter | None = None,
    notes: dict | None = None,
) -> dict:
    """Generate and grade every missing sample, then write and return the metrics (with
    `notes`, such as the data source, added to them)."""
    reporter = reporter or Reporter()
    by_id = {item.id: item for item in items}
    jobs = [item_job(item, config) for item in items]
    have = Counter(r["key"] for r in run.records(SAMPLES))
    missing = sum(max(0, job.n - have[job.key]) for job in jobs)
    sampling = replace(config.sampling, stop=stop_words(config.task))
    with reporter.stage(f"eval · {config.task}", missing) as progress:
        stats = run_jobs(
            backend,
            jobs,
            sampling,
            sample_record,
            sink=lambda records: run.append(SAMPLES, finish(records, by_id, config)),
            have=have,
            progress=progress,
        )
    report = {**(notes or {}), **summarize(items, run.records(SAMPLES), config)}
    report["this_run"] = stats
    run.write(METRICS, report)
    return report


def item_results(items: Sequence[Item], records: list[Record], k: int) -> list[ItemResult]:
    """The first k samples of each item (by index), for the items of this run only."""
    samples: dict[str, dict[int, Record]] = defaultdict(dict)
    for r in records:
        if r["index"] < k:
            samples[r["id"]].setdefault(r["index"], r)
    return [_result(item, samples[item.id]) for item in items if samples[item.id]]


def _result(item: Item, by_index: dict[int, Record]) -> ItemResult:
    rs = [by_index[i] for i in sorted(by_index)]
    return ItemResult(
        id=item.id,
        correct=tuple(bool(r["deepseek"]) for r in rs),
        math_verify=tuple(r["math_verify"] for r in rs),
        answers=tuple(r["answer"] for r in rs),
        subject=item.subject,
        level=item.level,
        program=tuple((r.get("program") or {}).get("correct") for r in rs),
        gym=tuple(r.get("gym_score") for r in rs),
    )


def summarize(items: Sequence[Item], records: list[Record], config: EvalConfig) -> dict:
    results = item_results(items, records, config.samples)
    ids = {item.id for item in items}
    used = [r for r in records if r["index"] < config.samples and r["id"] in ids]
    return {
        "task": config.task,
        "samples_per_item": config.samples,
        "items": len(items),
        "graded_items": len(results),
        "primary": "deepseek",
        "metrics": grouped(results),
        "usage": usage(used),
    }
