"""The whole corpus pipeline from a YAML recipe: read, then recall / dedup / decontaminate in
the recipe's order, then write, as datatrove pipelines under a local, Slurm or Ray executor.

A recipe (`load_recipe`) has `workdir`, `input` (path, format), `output` (path, format
jsonl|parquet, max_file_size), `executor` (`kind: local|slurm|ray` and its options) and
`stages`, an ordered list of one-key mappings (`- dedup: {threshold: 0.7}`). Relative paths
are relative to the working directory. Unknown stages or fields and bad values are one-line
`InputError`s.

`plan` turns a recipe into `PlannedPipeline`s, datatrove pipelines that run one after the
other (each executor `depends=` on the previous one). Stages are fused into one pipeline until
a `dedup` stage, which needs its input twice (signatures, then filtering) and so starts from
the previous pipeline's output, written as JSONL under `workdir/data/`. A `Tally` step after the
reader and after each stage counts documents and tokens (whitespace-separated words);
`summarize` merges the per-rank stats datatrove wrote under `workdir/logs/` into
`workdir/stats.json`: per stage, documents and tokens in and out and the reasons for removal.
Removed documents go to `workdir/removed/<stage>/`. A re-run skips the tasks that datatrove's
logging dirs mark complete. `run` first checks that a local input holds files of its format
(`check_input`), so a missing one is one line before any worker starts or anything is written.

This module does NOT train the classifier or discover domains (`recall` only scores with a
given model), does not submit Slurm jobs in `plan`/`executors` (only `run` does), does not
start a Ray cluster (it connects to `executor.address`, or starts a local one), and does not
check that a re-run uses the same recipe as the completed tasks.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, fields
from pathlib import Path

import orjson
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.pipeline.writers.jsonl import JsonlWriter
from datatrove.utils.stats import PipelineStats

from prover.errors import InputError, require
from verifier_train.data.dedup import dedup_pipelines
from verifier_train.data.dedup_exact import record_of
from verifier_train.data.readers import BAD_READS, GLOBS, make_reader
from verifier_train.data.recipe import (
    DecontaminateStage,
    DedupStage,
    OutputSpec,
    PipelineRecipe,
    RecallStage,
    Stage,
    stage_labels,
)

TALLY = "📏 TALLY"
NOTE_PREFIXES = ("contaminated_", "cleaned", "segments_removed", "missing_url", "skipped_")


class Tally(PipelineStep):
    """Counts the documents and whitespace tokens that pass, under a stage's label."""

    type = TALLY

    def __init__(self, label: str):
        self.name = label  # before the stats take the step's name
        super().__init__()

    def run(self, data, rank: int = 0, world_size: int = 1):
        for doc in data or ():
            self.stat_update("documents")
            self.stat_update("tokens", value=len(doc.text.split()))
            yield doc


@dataclass(frozen=True)
class PlannedPipeline:
    """One datatrove pipeline of a plan, run by one executor; `tasks` None means the
    recipe's task count."""

    name: str
    pipeline: list
    tasks: int | None = None


def _removed_writer(recipe: PipelineRecipe, label: str) -> JsonlWriter:
    folder = f"{recipe.workdir}/removed/{label}"
    return JsonlWriter(folder, "${rank}.jsonl", compression=None, adapter=record_of)


def _output_writer(spec: OutputSpec) -> DiskWriter:
    if spec.format == "jsonl":
        compression = None if spec.compression in (None, "none") else spec.compression
        name = "${rank}.jsonl" + (".gz" if compression == "gzip" else "")
        return JsonlWriter(
            spec.path, name, compression, adapter=record_of, max_file_size=spec.max_file_size
        )
    require("pyarrow", "data")
    from datatrove.pipeline.writers.parquet import ParquetWriter

    size = spec.max_file_size if spec.max_file_size > 0 else 5 * 2**30
    return ParquetWriter(
        spec.path, "${rank}.parquet", spec.compression or "snappy", parquet_row, max_file_size=size
    )


def parquet_row(self: DiskWriter, doc) -> dict:
    """ParquetWriter adapter: fixed columns (id, text, url) and the rest as a JSON string,
    so that documents with different metadata share one schema."""
    meta = {k: v for k, v in doc.metadata.items() if k not in ("file_path", "url")}
    url = doc.metadata.get("url")
    return {
        "id": doc.id,
        "text": doc.text,
        "url": url if isinstance(url, str) else None,
        "metadata": orjson.dumps(meta, option=orjson.OPT_NON_STR_KEYS).decode(),
    }


def _intermediate(recipe: PipelineRecipe, block: int) -> str:
    return f"{recipe.workdir}/data/{block:02d}"


def _recall_step(stage: RecallStage, removed: DiskWriter) -> PipelineStep:
    try:
        from verifier_train.data.classifier import MathRecall
    except ModuleNotFoundError as exc:
        if exc.name != "verifier_train.data.classifier":
            raise
        raise InputError("the recall stage needs verifier_train.data.classifier") from exc
    if not Path(stage.model).is_file():
        raise InputError(f"recall: no such model file: {stage.model}")
    budget = {"top_k_tokens": stage.top_k_tokens} if stage.top_k_tokens else {}
    return MathRecall(stage.model, threshold=stage.threshold, exclusion_writer=removed, **budget)


def _index_path(stage: DecontaminateStage, workdir: str, label: str) -> Path:
    """The benchmark index file: the one given, or the given ones merged into workdir."""
    from verifier_train.data import benchmark_index

    names = [benchmark_index.SHIPPED if n == "champ" else Path(n) for n in stage.index]
    if len(names) == 1 and not stage.benchmarks:
        return names[0]
    for name in names:
        if not name.is_file():
            raise InputError(f"decontaminate: no such index file: {name}")
    parts = [benchmark_index.load(name) for name in names]
    if stage.benchmarks:
        parts.append(benchmark_index.build([Path(p) for p in stage.benchmarks]).index)
    merged = parts[0] if len(parts) == 1 else benchmark_index.merge(parts)
    path = Path(workdir) / f"{label}_index.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    merged.save(path)
    return path


def _stage_step(recipe: PipelineRecipe, stage: Stage, label: str) -> PipelineStep:
    if isinstance(stage, RecallStage):
        return _recall_step(stage, _removed_writer(recipe, label))
    from verifier_train.data.decontaminate import Decontaminate

    index = _index_path(stage, recipe.workdir, label)
    return Decontaminate(
        index,
        stage.mode,
        segments=stage.segments,
        exclusion_writer=_removed_writer(recipe, label),
    )


def _blocks(recipe: PipelineRecipe) -> list[list[tuple[str, Stage]]]:
    """Stages grouped into fused pipelines: a dedup stage starts a new group."""
    blocks: list[list[tuple[str, Stage]]] = [[]]
    for label, stage in zip(stage_labels(recipe), recipe.stages, strict=True):
        if isinstance(stage, DedupStage) and blocks[-1]:
            blocks.append([])
        blocks[-1].append((label, stage))
    return blocks


def plan(recipe: PipelineRecipe) -> list[PlannedPipeline]:
    """The datatrove pipelines of a recipe, in the order they must run."""
    blocks, pipelines = _blocks(recipe), []
    source, fmt = recipe.input.path, recipe.input.format
    for number, block in enumerate(blocks):
        last = number == len(blocks) - 1
        reader = make_reader(source, fmt, recipe.input.max_chars, recipe.input.glob)
        head = [reader] + ([Tally("read")] if number == 0 else [])
        writer = _output_writer(recipe.output) if last else _intermediate_writer(recipe, number)
        pipelines += _block_pipelines(recipe, number, block, head, writer)
        source, fmt = _intermediate(recipe, number), "jsonl"
    return pipelines


def _intermediate_writer(recipe: PipelineRecipe, block: int) -> JsonlWriter:
    return JsonlWriter(_intermediate(recipe, block), "${rank}.jsonl", None, adapter=record_of)


def _fused(recipe: PipelineRecipe, block: list[tuple[str, Stage]]) -> list[PipelineStep]:
    steps: list[PipelineStep] = []
    for label, stage in block:
        steps += [_stage_step(recipe, stage, label), Tally(label)]
    return steps


def _block_pipelines(
    recipe, number: int, block, head: list, writer: DiskWriter
) -> list[PlannedPipeline]:
    tag = f"{number:02d}"
    if not block or not isinstance(block[0][1], DedupStage):
        return [PlannedPipeline(f"{tag}_main", head + _fused(recipe, block) + [writer])]
    label, stage = block[0]
    work = f"{recipe.workdir}/dedup/{tag}"
    config = stage.config()
    first, buckets, clusters, last = dedup_pipelines(
        head[0], writer, work, config, _removed_writer(recipe, label)
    )
    reader, dedup_filter, _ = last
    main = [reader, *head[1:], dedup_filter, Tally(label), *_fused(recipe, block[1:]), writer]
    return [
        PlannedPipeline(f"{tag}_dedup1", first),
        PlannedPipeline(f"{tag}_dedup2", buckets, min(recipe.executor.tasks, 2 + config.bands)),
        PlannedPipeline(f"{tag}_dedup3", clusters, 1),
        PlannedPipeline(f"{tag}_main", main),
    ]


def logging_dir(recipe: PipelineRecipe, planned: PlannedPipeline) -> str:
    return f"{recipe.workdir}/logs/{planned.name}"


def _executor(recipe: PipelineRecipe, planned: PlannedPipeline, depends):
    spec = recipe.executor
    tasks = planned.tasks or spec.tasks
    workers = min(spec.workers, tasks) if spec.workers > 0 else -1
    common = {"logging_dir": logging_dir(recipe, planned), "depends": depends}
    if spec.kind == "local":
        from datatrove.executor.local import LocalPipelineExecutor

        return LocalPipelineExecutor(planned.pipeline, tasks, workers, **common)
    if spec.kind == "slurm":
        from datatrove.executor.slurm import SlurmPipelineExecutor

        return SlurmPipelineExecutor(
            planned.pipeline, tasks, spec.time, spec.partition, spec.cpus_per_task,
            spec.mem_per_cpu_gb, workers=workers, job_name=f"{spec.job_name}_{planned.name}",
            qos=spec.qos, venv_path=spec.venv_path, condaenv=spec.condaenv,
            sbatch_args=spec.sbatch_args, **common,
        )  # fmt: skip
    require("ray", "ray")
    from datatrove.executor.ray import RayPipelineExecutor

    return RayPipelineExecutor(
        planned.pipeline, tasks, workers, cpus_per_task=spec.cpus_per_task,
        mem_per_cpu_gb=spec.mem_per_cpu_gb, **common,
    )  # fmt: skip


def executors(recipe: PipelineRecipe, pipelines: list[PlannedPipeline] | None = None) -> list:
    """One executor per planned pipeline, each depending on the one before (nothing runs
    yet)."""
    chain, depends = [], None
    for planned in pipelines if pipelines is not None else plan(recipe):
        depends = _executor(recipe, planned, depends)
        chain.append(depends)
    return chain


def check_input(recipe: PipelineRecipe) -> None:
    """A local input that is missing or holds no files of the recipe's format is one line,
    before any worker starts or anything is written. Remote inputs (`s3://...`) are not
    listed here: their readers list them."""
    spec = recipe.input
    if "://" in spec.path:
        return
    path = Path(spec.path)
    where = "" if path.is_absolute() else f" (relative to {Path.cwd()})"
    if not path.exists():
        raise InputError(f"input.path {spec.path}: no such folder{where}")
    pattern = spec.glob or GLOBS[spec.format]
    if path.is_dir() and not _has_files(path, pattern):
        raise InputError(f"input.path {spec.path} holds no {pattern} files{where}")


def _has_files(folder: Path, pattern: str) -> bool:
    """Whether the reader would find a file: datatrove's own listing, recursive."""
    from datatrove.io import get_datafolder

    return bool(get_datafolder(str(folder)).list_files(recursive=True, glob_pattern=pattern))


def run(recipe: PipelineRecipe) -> dict | None:
    """Run (or, for Slurm, submit) the recipe; the summary, or None when only submitted."""
    check_input(recipe)
    chain = executors(recipe)
    if not chain:
        raise InputError("the recipe has nothing to run")
    check_same_recipe(recipe)
    if recipe.executor.kind == "ray":
        ray = require("ray", "ray")
        if not ray.is_initialized():
            ray.init(address=recipe.executor.address, ignore_reinit_error=True)
    chain[-1].run()
    return None if recipe.executor.kind == "slurm" else summarize(recipe)


RECIPE_FILE = "recipe.json"


def check_same_recipe(recipe: PipelineRecipe) -> None:
    """A re-run skips completed tasks, so it must be the same recipe: the first run records
    it in the workdir, and a re-run with other settings is refused instead of silently
    keeping outputs made with the old ones."""
    from dataclasses import asdict

    path = Path(recipe.workdir) / RECIPE_FILE
    current = json.loads(json.dumps(asdict(recipe), default=str))
    if path.exists():
        if json.loads(path.read_text(encoding="utf-8")) != current:
            raise InputError(
                f"{recipe.workdir} holds a run of a different recipe; use a new workdir, or "
                "delete it to start over"
            )
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2), encoding="utf-8")


def _rank_stats(folder: Path) -> PipelineStats | None:
    """The merged stats of every rank that finished under a planned pipeline's logging dir."""
    merged = None
    for path in sorted((folder / "stats").glob("*.json")):
        stats = PipelineStats.from_json(orjson.loads(path.read_bytes()))
        merged = stats if merged is None else merged + stats
    return merged


def _stat_counts(step) -> dict[str, int]:
    return {key: int(value.total) for key, value in step.stats.items()}


def _removals(counts: dict[str, int]) -> tuple[Counter, Counter]:
    removed, notes = Counter(), Counter()
    for key, n in counts.items():
        if key.startswith("dropped_"):
            removed[key.removeprefix("dropped_")] += n
        elif key in BAD_READS:
            removed[key] += n
        elif key.startswith(NOTE_PREFIXES):
            notes[key] += n
    return removed, notes


def _walk(stats: PipelineStats, summary: dict[str, dict]) -> None:
    """Add a pipeline's counts to `summary`: removals go to the next tally's stage."""
    removed, notes = Counter(), Counter()
    for step in stats.stats:
        counts = _stat_counts(step)
        if not step.name.startswith(TALLY + ": "):
            more_removed, more_notes = _removals(counts)
            removed, notes = removed + more_removed, notes + more_notes
            continue
        entry = summary.setdefault(
            step.name.removeprefix(TALLY + ": "),
            {"docs_out": 0, "tokens_out": 0, "removed": Counter(), "notes": Counter()},
        )
        entry["docs_out"] += counts.get("documents", 0)
        entry["tokens_out"] += counts.get("tokens", 0)
        entry["removed"] += removed
        entry["notes"] += notes
        removed, notes = Counter(), Counter()


def summarize(recipe: PipelineRecipe) -> dict:
    """Per-stage documents and tokens in and out with removal reasons, from the logs of the
    finished tasks, written to `workdir/stats.json` and returned."""
    summary: dict[str, dict] = {}
    logs = Path(recipe.workdir) / "logs"
    for folder in sorted(p for p in logs.glob("*_main") if p.is_dir()):
        stats = _rank_stats(folder)
        if stats is not None:
            _walk(stats, summary)
    stages = _in_and_out(summary, ["read", *stage_labels(recipe)])
    result = {"stages": stages, "output": recipe.output.path}
    path = Path(recipe.workdir) / "stats.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    return result


def _in_and_out(summary: dict[str, dict], labels: list[str]) -> list[dict]:
    rows, docs, tokens = [], None, None
    for label in labels:
        entry = summary.get(label)
        if entry is None:
            continue
        removed = dict(sorted(entry["removed"].items()))
        if docs is None:  # the reader: what came in is what came out plus the bad records
            docs, tokens = entry["docs_out"] + sum(removed.values()), entry["tokens_out"]
        rows.append(
            {"stage": label, "docs_in": docs, "docs_out": entry["docs_out"],
             "tokens_in": tokens, "tokens_out": entry["tokens_out"], "removed": removed,
             "notes": dict(sorted(entry["notes"].items()))}
        )  # fmt: skip
        docs, tokens = entry["docs_out"], entry["tokens_out"]
    return rows


def describe(recipe: PipelineRecipe) -> list[str]:
    """Human-readable lines: input, stages with options, output, executor."""
    spec = recipe.executor
    lines = [f"input: {recipe.input.path} ({recipe.input.format})"]
    for number, (label, stage) in enumerate(
        zip(stage_labels(recipe), recipe.stages, strict=True), 1
    ):
        options = ", ".join(f"{f.name}={getattr(stage, f.name)!r}" for f in fields(stage))
        lines.append(f"stage {number}: {label} ({options})")
    size = recipe.output.max_file_size
    lines.append(
        f"output: {recipe.output.path} ({recipe.output.format}"
        + (f", shards of {size} bytes)" if size > 0 else ")")
    )
    where = {"local": "", "slurm": f" on partition {spec.partition}", "ray": ""}[spec.kind]
    lines.append(f"executor: {spec.kind}, {spec.tasks} tasks, workers {spec.workers}{where}")
    lines.append(f"workdir: {recipe.workdir} (logs, intermediate data, removed, stats.json)")
    return lines
