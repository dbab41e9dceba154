"""Math-Shepherd automatic step labels (Wang et al., 2023) for process reward models.

Steps. A solution is split into steps at line breaks: ONE STEP PER NON-EMPTY LINE, stripped;
blank lines (paragraph breaks) only separate steps. The process reward function of
`verifier_train.reward_model` splits GRPO completions the same way (`step_spans`), and a
labelled solution is written back as the policy would write it (`assistant_text`): one space
after the prompt (the DeepSeekMath-Instruct "Assistant: ..." format of `verifier_train.sft`),
then the steps joined by `STEP_SEPARATOR` ("\\n").

Labels. For step k of a solution with K steps, the policy continues the prefix (the question's
prompt, then steps 1..k and a line break) `samples` times; each continuation, appended to the
prefix steps, is graded against the gold answer with `prover.grading.grade_many` (the
DeepSeekMath verdict). The step's hard estimate is "any continuation reaches the gold answer"
(Math-Shepherd's HE, the training label) and its soft estimate the fraction that do (SE). The
last step's prefix is the whole solution, so its label is the grade of the solution itself and
is not sampled. The question's prompt is `prover.evaluation.tasks.build_prompt(item, "cot")`,
the one the GRPO stage trains on.

Running. One backend call per step index covers every record that still needs that step, so a
backend batches across records. After each call the per-step results go to a side file
(`<out>.steps.jsonl`) and every record whose steps are all known goes to the output JSONL, both
with `prover.rundir.append_jsonl`; a re-run skips records already in the output and steps
already in the side file (records are keyed by a hash of the question and the steps). A step
whose prompt does not fit the policy's context gets no label, and its record is skipped.

`label_steps(StepLabelsRun)` is `prover train step-labels` in one call: the solutions of a
file, the policy behind any backend (loaded only when something is left to sample), and the
labelling run.

This module does NOT train anything (see `verifier_train.reward_model`), deduplicate
solutions, parse command lines, or check that the solution's own final answer matches the gold
one.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prover.backends.base import Backend, Completion, Prompt, Sampling, deepseek_math_chat
from prover.backends.build import BackendConfig, build_generator
from prover.errors import InputError
from prover.grading import TIMEOUT, grade_many
from prover.progress import Reporter
from prover.records import Invalid, read_records
from prover.rundir import append_jsonl, read_jsonl, repair_tail
from verifier_train.sft_data import Rejected

STEP_SEPARATOR = "\n"
COMPLETION_LEAD = " "  # the policy writes one space after "Assistant:" (SFT format)
_LINE = re.compile(r"[^\n]+")


# --- Steps and prompts: shared with the reward models ---------------------------------------


def step_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character spans of the steps of `text`: its non-empty lines, stripped."""
    spans = []
    for match in _LINE.finditer(text):
        line = match.group()
        if line.strip():
            start = match.start() + len(line) - len(line.lstrip())
            spans.append((start, match.start() + len(line.rstrip())))
    return spans


def split_steps(text: str) -> list[str]:
    """The steps of a solution: one per non-empty line, stripped."""
    return [text[start:end] for start, end in step_spans(text)]


def assistant_text(steps: Sequence[str]) -> str:
    """Steps as the policy writes them after the prompt: a space, then one step per line."""
    return COMPLETION_LEAD + STEP_SEPARATOR.join(steps)


def question_prompt(question: str) -> Prompt:
    """The GRPO stage's prompt for a question (`build_prompt(item, "cot")`)."""
    from prover.evaluation.data import Item
    from prover.evaluation.tasks import build_prompt

    return build_prompt(Item(id="", question=question, answer=""), "cot")


def render_prompt(tokenizer: Any, prompt: Prompt) -> str:
    """A prompt as text: raw text as it is; a chat through the tokenizer's chat template, or
    the DeepSeekMath format without one. A leading BOS string is cut, because the text is
    tokenized again with the tokenizer's own special tokens."""
    if isinstance(prompt, str):
        return prompt
    if tokenizer is None or not getattr(tokenizer, "chat_template", None):
        return deepseek_math_chat(list(prompt))
    text = tokenizer.apply_chat_template(list(prompt), tokenize=False, add_generation_prompt=True)
    bos = tokenizer.bos_token
    return text[len(bos) :] if bos and text.startswith(bos) else text


# --- Records --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Solution:
    """A worked solution to label: its question, the gold answer and its steps."""

    question: str
    answer: str
    steps: tuple[str, ...]

    @property
    def key(self) -> str:
        """A stable id from the question and the steps (a re-run skips labelled keys)."""
        blob = f"{self.question}\n\n{STEP_SEPARATOR.join(self.steps)}".encode()
        return hashlib.sha256(blob).hexdigest()[:20]

    @classmethod
    def from_dict(cls, value: Mapping[str, Any]) -> Solution:
        """`{question (or problem), answer, solution: text or [steps]}` (or `steps`)."""
        question = _field(value, "question") or _field(value, "problem")
        answer = _field(value, "answer")
        if not question or not answer:
            raise ValueError("needs a non-empty `question` (or `problem`) and `answer`")
        raw = value.get("solution", value.get("steps"))
        if isinstance(raw, str):
            steps = split_steps(raw)
        elif isinstance(raw, list) and all(isinstance(s, str) for s in raw):
            steps = [line for s in raw for line in split_steps(s)]
        else:
            raise ValueError("needs `solution` (text) or `steps` (a list of strings)")
        if not steps:
            raise ValueError("the solution has no non-empty line")
        return cls(question, answer, tuple(steps))


def _field(value: Mapping[str, Any], key: str) -> str:
    raw = value.get(key)
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        return ""
    return str(raw).strip()


def read_solutions(
    paths: Iterable[Path], limit: int | None = None
) -> tuple[list[Solution], list[Rejected]]:
    """Solutions from JSONL/JSON/CSV files (the first `limit` usable ones), and the bad records
    with their file and line."""
    solutions: list[Solution] = []
    rejected: list[Rejected] = []
    for path in paths:
        for line, value in read_records(Path(path)):
            if limit is not None and len(solutions) >= limit:
                return solutions, rejected
            try:
                solutions.append(_solution(value))
            except ValueError as exc:
                rejected.append(Rejected(str(path), line, str(exc)))
    return solutions, rejected


def _solution(value: Any) -> Solution:
    if isinstance(value, Invalid):
        raise ValueError(str(value))
    if not isinstance(value, Mapping):
        raise ValueError(f"a JSON {type(value).__name__}, not an object")
    return Solution.from_dict(value)


# --- Labelling ------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepEstimate:
    """Graded continuations of one step prefix."""

    correct: int
    samples: int

    @property
    def hard(self) -> bool:
        """Math-Shepherd's hard estimate: some continuation reaches the gold answer."""
        return self.correct > 0

    @property
    def soft(self) -> float:
        """Math-Shepherd's soft estimate: the fraction of continuations that do."""
        return self.correct / self.samples if self.samples else 0.0


@dataclass(frozen=True)
class ShepherdConfig:
    """How step prefixes are continued and graded."""

    samples: int = 8
    sampling: Sampling = field(default_factory=Sampling)
    grade_workers: int = 1
    grade_timeout: float = TIMEOUT


@dataclass
class LabelReport:
    """What a labelling run did."""

    labelled: int = 0  # records written by this run
    already: int = 0  # records found in the output and skipped
    too_long: int = 0  # records with a step prefix longer than the policy's context
    steps: int = 0  # step prefixes sampled by this run
    skipped: int = 0  # bad input records (`label_steps`)


def side_file(out: Path) -> Path:
    """Where per-step results are kept between calls: `<out>.steps.jsonl`."""
    return out.with_name(out.name + ".steps.jsonl")


def prefix_prompt(render: Callable[[Prompt], str], solution: Solution, k: int) -> str:
    """The raw-text prompt that continues `solution` after its steps 0..k."""
    steps = solution.steps[: k + 1]
    return render(question_prompt(solution.question)) + assistant_text(steps) + STEP_SEPARATOR


def graded_pairs(
    solution: Solution, k: int, completions: Sequence[Completion]
) -> list[tuple[str, str]]:
    """(gold, steps 0..k + continuation) per continuation of step k that ran."""
    prefix = assistant_text(solution.steps[: k + 1]) + STEP_SEPARATOR
    ran = [c for c in completions if c.finish_reason != "prompt_too_long"]
    return [(solution.answer, prefix + c.text) for c in ran]


def output_record(solution: Solution, estimates: Sequence[StepEstimate]) -> dict[str, Any]:
    """The stepwise-supervision record for the PRM: prompt, steps as completions, labels."""
    return {
        "key": solution.key,
        "question": solution.question,
        "answer": solution.answer,
        "prompt": question_prompt(solution.question),
        "completions": list(solution.steps),
        "labels": [e.hard for e in estimates],
        "soft_labels": [round(e.soft, 6) for e in estimates],
    }


class _Run:
    """The state of one labelling run: known step estimates and what is written."""

    def __init__(self, solutions: Sequence[Solution], out: Path, config: ShepherdConfig):
        self.out, self.config, self.report = out, config, LabelReport()
        out.parent.mkdir(parents=True, exist_ok=True)
        for path in (out, side_file(out)):
            repair_tail(path)
        done = {r.get("key") for r in read_jsonl(out)}
        unique = {s.key: s for s in solutions}
        self.report.already = sum(key in done for key in unique)
        self.pending = [s for key, s in unique.items() if key not in done]
        self.known: dict[tuple[str, int], StepEstimate] = {
            (r["key"], r["step"]): StepEstimate(r["correct"], r["samples"])
            for r in read_jsonl(side_file(out))
        }

    def grade_last_steps(self) -> None:
        """The last step of each pending solution: the grade of the solution itself."""
        todo = [s for s in self.pending if (s.key, len(s.steps) - 1) not in self.known]
        pairs = [(s.answer, assistant_text(s.steps)) for s in todo]
        grades = grade_many(pairs, self.config.grade_workers, self.config.grade_timeout)
        self.keep([(s, len(s.steps) - 1, [g.deepseek]) for s, g in zip(todo, grades, strict=True)])

    def jobs(self, k: int) -> list[Solution]:
        """Pending solutions whose step k (not their last) has no estimate yet."""
        return [s for s in self.pending if k < len(s.steps) - 1 and (s.key, k) not in self.known]

    def keep(self, results: Sequence[tuple[Solution, int, list[bool]]]) -> None:
        """Record step estimates in the side file and in memory."""
        rows = []
        for solution, k, verdicts in results:
            est = StepEstimate(sum(verdicts), len(verdicts))
            self.known[(solution.key, k)] = est
            rows.append({"key": solution.key, "step": k, **vars(est)})
        append_jsonl(side_file(self.out), rows)

    def flush(self) -> None:
        """Write every pending solution whose steps are all estimated."""
        finished, rows = [], []
        for s in self.pending:
            estimates = [self.known.get((s.key, k)) for k in range(len(s.steps))]
            if all(estimates):
                finished.append(s)
                if all(e.samples for e in estimates):
                    rows.append(output_record(s, estimates))
                else:
                    self.report.too_long += 1
        append_jsonl(self.out, rows)
        self.report.labelled += len(rows)
        gone = {s.key for s in finished}
        self.pending = [s for s in self.pending if s.key not in gone]


def label_solutions(
    solutions: Sequence[Solution],
    backend: Backend | Callable[[], Backend],
    out: Path,
    config: ShepherdConfig | None = None,
    reporter: Reporter | None = None,
) -> LabelReport:
    """Label every step of `solutions` by Math-Shepherd's rule, appending to `out` (JSONL);
    records already in `out` are skipped, so a re-run resumes. `backend` may be a function
    that builds it, called only when something is left to sample."""
    config, reporter = config or ShepherdConfig(), reporter or Reporter()
    run = _Run(solutions, out, config)
    run.grade_last_steps()
    run.flush()
    longest = max((len(s.steps) for s in run.pending), default=0)
    total = sum(len(run.jobs(k)) for k in range(longest)) * config.samples
    if not total:
        return run.report
    backend = backend if isinstance(backend, Backend) else backend()
    render = _renderer(backend)
    with reporter.stage("step labels", total) as update:
        progress = _Progress(update, total)
        for k in range(longest - 1):
            _label_step(run, k, backend, render, progress)
            run.flush()
    return run.report


@dataclass
class _Progress:
    """Samples done out of `total`, shown through a reporter's update function."""

    update: Callable[[int, int], None]
    total: int
    done: int = 0

    def add(self, count: int) -> None:
        self.done += count
        self.update(self.done, self.total)


def _label_step(run: _Run, k: int, backend: Backend, render, progress: _Progress) -> None:
    """One backend call for step index k over all pending solutions that need it."""
    todo = run.jobs(k)
    if not todo:
        return
    config, start = run.config, progress.done
    prompts = [prefix_prompt(render, s, k) for s in todo]
    results = backend.generate(prompts, config.samples, config.sampling,
                               on_samples=lambda finished: progress.add(len(finished)))  # fmt: skip
    pairs = [graded_pairs(s, k, c) for s, c in zip(todo, results, strict=True)]
    flat = [pair for group in pairs for pair in group]
    verdicts = iter(g.deepseek for g in grade_many(flat, config.grade_workers,
                                                   config.grade_timeout))  # fmt: skip
    run.keep([(s, k, [next(verdicts) for _ in g]) for s, g in zip(todo, pairs, strict=True)])
    run.report.steps += len(todo)
    # a backend may report samples as they finish, or never: count what it did not report
    progress.add(start + len(todo) * config.samples - progress.done)


def _renderer(backend: Backend) -> Callable[[Prompt], str]:
    """Chat prompts rendered with the backend's tokenizer when it has one (the hf backend),
    else in the DeepSeekMath format (what deepseek-math's own chat template writes)."""
    tokenizer = getattr(backend, "tokenizer", None)
    return lambda prompt: render_prompt(tokenizer, prompt)


# --- The `prover train step-labels` command -------------------------------------------------


@dataclass(frozen=True)
class StepLabelsRun:
    """What `prover train step-labels` is asked: the solutions file (its first `limit` usable
    records), the labels JSONL, the policy's backend and the labelling settings."""

    data: Path
    out: Path
    backend: BackendConfig
    shepherd: ShepherdConfig = field(default_factory=ShepherdConfig)
    limit: int | None = None


def label_steps(
    config: StepLabelsRun, reporter: Reporter | None = None, log: Callable[[str], None] = print
) -> LabelReport:
    """Label the steps of every usable solution of `config.data` into `config.out` (a re-run
    skips labelled records); bad records are logged and counted in `skipped`."""
    solutions, rejected = read_solutions([config.data], config.limit)
    for reason in rejected:
        log(f"skipped {reason}")
    if not solutions:
        raise InputError(f"no usable solutions in {config.data} ({len(rejected)} skipped)")
    generator = functools.partial(build_generator, config.backend)
    report = label_solutions(solutions, generator, config.out, config.shepherd, reporter)
    report.skipped = len(rejected)
    return report
