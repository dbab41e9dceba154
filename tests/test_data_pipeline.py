"""The recipe pipeline (`verifier_train.data.pipeline`): a planted corpus through dedup and
decontamination with the local executor and 2 workers, resume after an interruption, Parquet
output, bad Parquet/WARC input, recipe validation, `prover data run`, and Ray if installed."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path

import champ_dataset
import pytest
import yaml
from click.testing import CliRunner

from prover.errors import InputError
from verifier_train.data import pipeline
from verifier_train.data.recipe import load_recipe, parse_recipe, stage_name

VOCAB = [f"w{i}" for i in range(3000)] + ["\\frac{a}{b}", "$x^2$", "integral", "lemma"]


def _text(rng: random.Random, words: int = 150) -> str:
    return " ".join(rng.choice(VOCAB) for _ in range(words))


def _edit(rng: random.Random, text: str, edits: int = 3) -> str:
    words = text.split()
    for _ in range(edits):
        words[rng.randrange(len(words))] = rng.choice(VOCAB)
    return " ".join(words)


def _corpus(folder: Path) -> dict[str, set[str]]:
    """Two JSONL files with planted copies, near-duplicates and leaks; the planted ids."""
    rng = random.Random(7)
    problems = [p.text for p in champ_dataset.load("v0").problems.values()]
    problems = [p for p in problems if len(p.split()) >= 15][:8]
    originals = [{"id": f"o{i}", "url": f"http://a.org/{i}", "text": _text(rng)} for i in range(80)]
    copies = [o | {"id": f"c{i}", "url": f"http://b.org/{i}"} for i, o in enumerate(originals[:10])]
    near = [
        {"id": f"n{i}", "url": f"http://n.org/{i}", "text": _edit(rng, o["text"])}
        for i, o in enumerate(originals[10:30])
    ]
    leaks = [
        {"id": f"l{i}", "url": f"http://l.org/{i}", "text": f"{_text(rng, 40)}\n{p} ok"}
        for i, p in enumerate(problems)
    ]
    folder.mkdir(parents=True)
    _write(folder / "a.jsonl", originals[:50] + leaks[:4])
    bad = b'{"id": "bad", "text": \n{"id": "empty", "text": "  "}\n'
    _write(folder / "b.jsonl", originals[50:] + copies + near + leaks[4:], bad)
    return {
        "originals": {o["id"] for o in originals},
        "copies": {c["id"] for c in copies},
        "near": {n["id"] for n in near},
        "leaks": {x["id"] for x in leaks},
    }


def _write(path: Path, records: list[dict], extra: bytes = b"") -> None:
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in records) + extra)


def _recipe(tmp: Path, **changes) -> dict:
    data = {
        "workdir": str(tmp / "work"),
        "input": {"path": str(tmp / "corpus"), "format": "jsonl"},
        "output": {"path": str(tmp / "out"), "format": "jsonl"},
        "executor": {"kind": "local", "tasks": 2, "workers": 2},
        "stages": [{"dedup": {"threshold": 0.7}}, {"decontaminate": {"index": ["champ"]}}],
    }
    return data | changes


def _kept_ids(folder: Path) -> set[str]:
    return {json.loads(line)["id"] for p in folder.glob("*.jsonl") for line in p.open()}


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pipeline")
    planted = _corpus(tmp / "corpus")
    recipe = parse_recipe(_recipe(tmp))
    summary = pipeline.run(recipe)
    return tmp, recipe, planted, summary


def test_planted_corpus_is_cleaned(ran):
    tmp, _, planted, _ = ran
    kept = _kept_ids(tmp / "out")
    assert not kept & planted["copies"]
    assert not kept & planted["leaks"]
    near_removed = len(planted["near"] - kept) / len(planted["near"])
    assert near_removed >= 0.95
    assert planted["originals"] <= kept  # no false removals


def test_stats_summary_per_stage(ran):
    tmp, recipe, planted, summary = ran
    stages = {row["stage"]: row for row in summary["stages"]}
    assert list(stages) == ["read", "dedup", "decontaminate"]
    total = sum(len(ids) for ids in planted.values())
    assert stages["read"]["docs_in"] == total + 2
    assert stages["read"]["removed"] == {"empty_text": 1, "invalid_json": 1}
    dedup = stages["dedup"]
    assert dedup["docs_in"] == total and dedup["removed"]["duplicate_text"] == 10
    assert dedup["removed"]["near_duplicate"] >= 19
    assert stages["decontaminate"]["removed"] == {"contaminated": 8}
    assert stages["decontaminate"]["tokens_out"] < dedup["tokens_out"]
    on_disk = json.loads((Path(recipe.workdir) / "stats.json").read_text())
    assert on_disk["stages"] == summary["stages"]


def test_rerun_resumes_after_interruption(ran):
    tmp, recipe, _, summary = ran
    logs = Path(recipe.workdir) / "logs"
    done = logs / "00_dedup1" / "completions" / "00000"
    before, kept = done.stat().st_mtime_ns, _kept_ids(tmp / "out")
    (logs / "00_main" / "completions" / "00001").unlink()  # task 1 of the last job "died"
    (tmp / "out" / "00001.jsonl").unlink()
    again = pipeline.run(recipe)
    assert (logs / "00_main" / "completions" / "00001").exists()
    assert done.stat().st_mtime_ns == before  # the completed job was skipped
    assert _kept_ids(tmp / "out") == kept
    assert again["stages"] == summary["stages"]


def test_parquet_output_is_readable(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    _corpus(tmp_path / "corpus")
    data = _recipe(tmp_path, output={"path": str(tmp_path / "out"), "format": "parquet"})
    data["stages"] = [{"decontaminate": {"index": ["champ"]}}]
    summary = pipeline.run(parse_recipe(data))
    table = pq.read_table(sorted((tmp_path / "out").glob("*.parquet")))
    assert table.num_rows == summary["stages"][-1]["docs_out"] > 0
    assert {"id", "text", "url", "metadata"} <= set(table.column_names)


def test_bad_parquet_file_is_counted(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    from verifier_train.data.readers import make_reader

    rows = [{"id": "1", "text": "hello world", "url": "u"}, {"id": "2", "text": "", "url": "v"}]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "good.parquet")
    (tmp_path / "cut.parquet").write_bytes((tmp_path / "good.parquet").read_bytes()[:-30])
    reader = make_reader(str(tmp_path), "parquet")
    docs = list(reader.run(None, 0, 1))
    assert [d.id for d in docs] == ["1"]
    counts = {k: int(v.total) for k, v in reader.stats.stats.items()}
    assert counts["invalid_file"] == 1 and counts["empty_text"] == 1


def _warc(records: list[tuple[str, bytes]]) -> bytes:
    from warcio.warcwriter import WARCWriter

    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    for url, payload in records:
        record = writer.create_warc_record(
            url, "conversion", payload=io.BytesIO(payload), http_headers=None
        )
        writer.write_record(record)
    return buffer.getvalue()


def test_truncated_and_non_utf8_warc_records_are_counted(tmp_path):
    pytest.importorskip("warcio")
    from verifier_train.data.readers import make_reader

    good = _warc([("http://a/1", b"first page"), ("http://a/2", b"\xff\xfe bad")])
    tail = _warc([("http://a/3", b"third page " * 200)])
    (tmp_path / "x.warc.wet.gz").write_bytes(good + tail[: len(tail) // 2])
    reader = make_reader(str(tmp_path), "wet")
    docs = list(reader.run(None, 0, 1))
    assert [d.metadata["url"] for d in docs] == ["http://a/1"]
    counts = {k: int(v.total) for k, v in reader.stats.stats.items()}
    assert counts["invalid_utf8"] == 1
    cut = ("truncated_record", "truncated_file", "invalid_record")
    assert sum(counts.get(reason, 0) for reason in cut) == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"stages": [{"shuffle": {}}]}, "unknown stage 'shuffle'"),
        ({"stages": [{"dedup": {"bandz": 3}}]}, "unknown field stages[0].dedup.bandz"),
        ({"stages": [{"dedup": {"threshold": "high"}}]}, "bad value"),
        ({"executor": {"kind": "mpi"}}, "executor.kind must be one of"),
        ({"executor": {"kind": "slurm"}}, "needs executor.partition"),
        ({"output": {"path": "o", "format": "csv"}}, "output.format"),
        ({"colour": 1}, "unknown recipe field 'colour'"),
    ],
)
def test_recipe_errors_are_one_liners(tmp_path, change, message):
    with pytest.raises(InputError) as caught:
        parse_recipe(_recipe(tmp_path, **change))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_shipped_recipes_parse_and_slurm_builds_without_submitting(tmp_path):
    recipes = Path(pipeline.__file__).with_name("recipes")
    small = load_recipe(recipes / "small.yaml")
    assert small.executor.kind == "local" and small.executor.workers == 2
    paper = load_recipe(recipes / "deepseekmath.yaml")
    assert [stage_name(s) for s in paper.stages] == ["recall", "dedup", "decontaminate"]
    data = _recipe(tmp_path, executor={"kind": "slurm", "partition": "p", "time": "1:00:00"})
    _corpus(tmp_path / "corpus")
    chain = pipeline.executors(parse_recipe(data))
    assert len(chain) == 4 and chain[-1].depends is chain[-2]


def test_cli_run_prints_stages_and_counts(tmp_path):
    from prover.cli.data import data
    from prover.cli.data_run import run

    if "run" not in data.commands:
        data.add_command(run)
    _corpus(tmp_path / "corpus")
    config = tmp_path / "recipe.yaml"
    config.write_text(yaml.safe_dump(_recipe(tmp_path)))
    dry = CliRunner().invoke(data, ["run", str(config), "--dry-run"])
    assert dry.exit_code == 0 and "stage 1: dedup" in dry.output and "executor: local" in dry.output
    assert not (tmp_path / "work" / "logs").exists()
    result = CliRunner().invoke(data, ["run", str(config)])
    assert result.exit_code == 0, result.output
    assert "decontaminate" in result.output and "contaminated 8" in result.output
    bad = CliRunner().invoke(data, ["run", str(tmp_path / "missing.yaml")])
    assert isinstance(bad.exception, InputError) and "no such recipe" in str(bad.exception)


def test_recall_stage_needs_classifier_module(tmp_path):
    data = _recipe(tmp_path, stages=[{"recall": {"model": str(tmp_path / "m.bin")}}])
    recipe = parse_recipe(data)
    with pytest.raises(InputError):  # no model file (or no classifier module)
        pipeline.plan(recipe)


def test_ray_local_cluster_two_workers(tmp_path):
    ray = pytest.importorskip("ray")
    planted = _corpus(tmp_path / "corpus")
    data = _recipe(tmp_path, executor={"kind": "ray", "tasks": 2, "workers": 2})
    ray.init(num_cpus=2, include_dashboard=False, ignore_reinit_error=True)
    try:
        summary = pipeline.run(parse_recipe(data))
    finally:
        ray.shutdown()
    kept = _kept_ids(tmp_path / "out")
    assert not kept & (planted["copies"] | planted["leaks"])
    assert summary["stages"][-1]["stage"] == "decontaminate"


def test_a_rerun_with_another_recipe_is_refused(tmp_path):
    from prover.errors import InputError

    first = parse_recipe(_recipe(tmp_path))
    pipeline.check_same_recipe(first)
    pipeline.check_same_recipe(first)  # the same recipe may resume
    changed = _recipe(tmp_path)
    changed["stages"] = [{"dedup": {"threshold": 0.9}}]
    with pytest.raises(InputError, match="different recipe"):
        pipeline.check_same_recipe(parse_recipe(changed))
