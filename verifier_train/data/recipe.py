"""Pipeline recipes: the YAML that `prover data run` reads, parsed into frozen dataclasses.

A recipe has `workdir`, `input` (path, format), `output` (path, format jsonl|parquet,
max_file_size), `executor` (`kind: local|slurm|ray` and its options) and `stages`, an ordered
list of one-key mappings (`- dedup: {threshold: 0.7}`). Unknown stages or fields and bad values
are one-line `InputError`s. This module does not build or run pipelines (`pipeline.py` does).
"""

from __future__ import annotations

import typing
from collections import Counter
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import UnionType
from typing import Any

import yaml

from prover.errors import InputError
from verifier_train.data.dedup_minhash import NearDedupConfig
from verifier_train.data.jsonl import MAX_CHARS
from verifier_train.data.readers import FORMATS

KINDS = ("local", "slurm", "ray")
OUTPUT_FORMATS = ("jsonl", "parquet")


@dataclass(frozen=True)
class InputSpec:
    path: str
    format: str = "jsonl"
    glob: str | None = None
    max_chars: int = MAX_CHARS

    def __post_init__(self) -> None:
        _one_of("input.format", self.format, FORMATS)
        _positive("input.max_chars", self.max_chars)


@dataclass(frozen=True)
class OutputSpec:
    path: str
    format: str = "jsonl"
    max_file_size: int = -1  # bytes per shard file; -1: one file per task
    compression: str | None = None  # jsonl: gzip or none; parquet: snappy, zstd, ...

    def __post_init__(self) -> None:
        _one_of("output.format", self.format, OUTPUT_FORMATS)
        if self.max_file_size == 0 or self.max_file_size < -1:
            raise InputError("output.max_file_size must be positive bytes, or -1 for no limit")


@dataclass(frozen=True)
class ExecutorSpec:
    kind: str = "local"
    tasks: int = 1
    workers: int = -1  # -1: all tasks at once
    partition: str | None = None  # slurm
    time: str | None = None  # slurm, e.g. "24:00:00"
    qos: str = "normal"  # slurm
    cpus_per_task: int = 1  # slurm, ray
    mem_per_cpu_gb: float = 2.0  # slurm, ray
    job_name: str = "corpus"  # slurm
    venv_path: str | None = None  # slurm
    condaenv: str | None = None  # slurm
    sbatch_args: dict | None = None  # slurm
    address: str | None = None  # ray: None starts a local cluster, "auto" joins one

    def __post_init__(self) -> None:
        _one_of("executor.kind", self.kind, KINDS)
        _positive("executor.tasks", self.tasks)
        if self.workers == 0 or self.workers < -1:
            raise InputError("executor.workers must be positive, or -1 for all tasks at once")
        if self.kind == "slurm" and not (self.partition and self.time):
            raise InputError("a slurm executor needs executor.partition and executor.time")


@dataclass(frozen=True)
class RecallStage:
    model: str
    threshold: float = 0.5
    top_k_tokens: int | None = None  # keep the best pages up to this token budget instead


@dataclass(frozen=True)
class DedupStage:
    shingle: int = 5
    hashes: int = 128
    bands: int = 16
    rows: int = 8
    threshold: float = 0.7

    def config(self) -> NearDedupConfig:
        return NearDedupConfig(self.shingle, self.hashes, self.bands, self.rows, self.threshold)


@dataclass(frozen=True)
class DecontaminateStage:
    index: tuple[str, ...] = ()  # saved index files (.npz), or "champ" for the shipped one
    benchmarks: tuple[str, ...] = ()  # JSONL/JSON files or folders (text/problem/question)
    mode: str = "document"
    segments: str = "paragraph"

    def __post_init__(self) -> None:
        if not self.index and not self.benchmarks:
            raise InputError("decontaminate needs index: [...] or benchmarks: [...]")
        _one_of("decontaminate.mode", self.mode, ("document", "segment"))
        _one_of("decontaminate.segments", self.segments, ("paragraph", "line"))


STAGES: dict[str, type] = {
    "recall": RecallStage,
    "dedup": DedupStage,
    "decontaminate": DecontaminateStage,
}
Stage = RecallStage | DedupStage | DecontaminateStage


@dataclass(frozen=True)
class PipelineRecipe:
    workdir: str
    input: InputSpec
    output: OutputSpec
    executor: ExecutorSpec = field(default_factory=ExecutorSpec)
    stages: tuple[Stage, ...] = ()


def _one_of(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(choices)}, not {value!r}")


def _positive(name: str, value: int) -> None:
    if value < 1:
        raise InputError(f"{name} must be positive, not {value}")


def _type_ok(value: object, hint: object) -> bool:
    """Whether a YAML value fits a field's type (the few types recipes use)."""
    args = typing.get_args(hint)
    if isinstance(hint, UnionType):
        return any(_type_ok(value, arg) for arg in args)
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if typing.get_origin(hint) is tuple:
        return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
    return isinstance(value, typing.get_origin(hint) or hint)


def _build(cls: type, values: object, where: str) -> Any:
    """A frozen dataclass from a YAML mapping, with one-line errors."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise InputError(f"{where} must be a mapping, not {type(values).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    for key, value in values.items():
        if key not in known:
            raise InputError(f"unknown field {where}.{key}; known: {', '.join(sorted(known))}")
        if not _type_ok(value, hints[key]):
            raise InputError(f"{where}.{key} has a bad value {value!r}")
    missing = [f.name for f in fields(cls) if f.name not in values and _required(f)]
    if missing:
        raise InputError(f"{where} needs {', '.join(missing)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return cls(**values)


def _required(f) -> bool:
    from dataclasses import MISSING

    return f.default is MISSING and f.default_factory is MISSING


def _stage(entry: object, number: int) -> Stage:
    where = f"stages[{number}]"
    if isinstance(entry, str):
        entry = {entry: {}}
    if not isinstance(entry, dict) or len(entry) != 1:
        raise InputError(f"{where} must be a stage name or a one-key mapping like dedup: {{}}")
    ((name, options),) = entry.items()
    if name not in STAGES:
        raise InputError(f"unknown stage {name!r} in {where}; use one of {', '.join(STAGES)}")
    stage = _build(STAGES[name], options, f"{where}.{name}")
    if isinstance(stage, DedupStage):
        stage.config()  # NearDedupConfig checks shingles, bands and rows
    return stage


def parse_recipe(data: object) -> PipelineRecipe:
    """A recipe from its parsed YAML."""
    if not isinstance(data, dict):
        raise InputError("a recipe must be a YAML mapping")
    known = {"workdir", "input", "output", "executor", "stages"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InputError(f"unknown recipe field {unknown[0]!r}; known: {', '.join(sorted(known))}")
    for key in ("workdir", "input", "output"):
        if key not in data:
            raise InputError(f"the recipe needs {key}")
    if not isinstance(data["workdir"], str):
        raise InputError("workdir must be a path")
    stages = data.get("stages") or []
    if not isinstance(stages, list):
        raise InputError("stages must be a list")
    return PipelineRecipe(
        workdir=data["workdir"],
        input=_build(InputSpec, data["input"], "input"),
        output=_build(OutputSpec, data["output"], "output"),
        executor=_build(ExecutorSpec, data.get("executor"), "executor"),
        stages=tuple(_stage(entry, i) for i, entry in enumerate(stages)),
    )


def load_recipe(path: str | Path) -> PipelineRecipe:
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such recipe: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    return parse_recipe(data)


def stage_name(stage: Stage) -> str:
    return next(name for name, cls in STAGES.items() if isinstance(stage, cls))


def stage_labels(recipe: PipelineRecipe) -> list[str]:
    """The stages' names, with `_2`, `_3` ... on repeats."""
    seen: Counter = Counter()
    labels = []
    for stage in recipe.stages:
        name = stage_name(stage)
        seen[name] += 1
        labels.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return labels
