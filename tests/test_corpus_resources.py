"""The corpus commands on a first run (issue 14): disk use that scales with the input, a
missing input found before any worker starts, and datatrove's logs only with --verbose.
Each test checks what the user sees: the exact lines, the exit code, the bytes on disk."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("fasttext")
pytest.importorskip("datatrove")
from click.testing import CliRunner  # noqa: E402

from prover.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SMALL_RECIPE = ROOT / "verifier_train" / "data" / "recipes" / "small.yaml"
WORDS = "the match team coach season city council report weather market recipe oven flour"


def math_page(rng: random.Random) -> str:
    steps = []
    for _ in range(rng.randint(6, 12)):
        a, b, v = rng.randint(2, 99), rng.randint(2, 99), rng.choice("xyznk")
        steps.append(f"Substituting ${v} = {a}$ gives ${v}^2 + {b} = {a * a + b}$, so we conclude.")
    return "Prove the identity. " + " ".join(steps)


def other_page(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS.split()) for _ in range(rng.randint(80, 160))) + "."


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    """50 math and 50 other pages (seeds, negatives), and a web of 80 pages of both."""
    rng, folder = random.Random(0), tmp_path_factory.mktemp("pages")
    web = [
        {"url": f"https://{host}/{i}", "text": page(rng)}
        for i in range(40)
        for host, page in (("math.example.org/q", math_page), ("news.example.com/a", other_page))
    ]
    return {
        "seeds": write_jsonl(folder / "seeds.jsonl", [{"text": math_page(rng)} for _ in range(50)]),
        "negatives": write_jsonl(
            folder / "negatives.jsonl", [{"text": other_page(rng)} for _ in range(50)]
        ),
        "web": write_jsonl(folder / "web.jsonl", web),
    }


def prover(*args, cwd: Path) -> subprocess.CompletedProcess:
    """The real command in a fresh process (datatrove sets up its logging at import)."""
    command = [sys.executable, "-m", "prover.cli", *map(str, args)]
    env = os.environ | {"HF_HUB_OFFLINE": "1"}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def disk_use(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_classifier_on_100_documents_is_small_and_quiet(pages, tmp_path):
    out = tmp_path / "math.bin"
    done = prover("data", "train-classifier", pages["seeds"], pages["negatives"], "--out", out,
                  cwd=tmp_path)  # fmt: skip
    assert done.returncode == 0 and done.stderr == "", done.stderr
    size = out.stat().st_size
    assert size < 50e6, size
    assert done.stdout.splitlines()[-1] == (
        f"model -> {out} ({size / 1e6:.1f} MB), metrics -> {tmp_path / 'math.metrics.json'}"
    )
    config = json.loads((tmp_path / "math.metrics.json").read_text())["config"]
    assert config["bucket"] < 2_000_000 and config["dim"] == 256


def test_train_classifier_help_names_the_files_and_the_disk_cost():
    help_text = " ".join(
        CliRunner().invoke(main, ["data", "train-classifier", "--help"]).output.split()
    )
    assert "math.bin -> math.metrics.json" in help_text
    assert "2 GB for the paper's 2000000 at dim 256" in help_text


def test_an_explicit_bucket_is_used_as_given(pages, tmp_path):
    out = tmp_path / "m.bin"
    args = ["data", "train-classifier", pages["seeds"], pages["negatives"], "--out", out]
    result = CliRunner().invoke(main, [*map(str, args), "--bucket", "20000"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "m.metrics.json").read_text())["config"]["bucket"] == 20000
    assert out.stat().st_size > 20000 * 256 * 4


def test_classify_and_iterate_print_no_datatrove_logs(pages, tmp_path):
    model = tmp_path / "m.bin"
    prover("data", "train-classifier", pages["seeds"], pages["negatives"], "--out", model,
           cwd=tmp_path)  # fmt: skip
    done = prover("data", "classify", pages["web"], tmp_path / "kept.jsonl", "--model", model,
                  cwd=tmp_path)  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[-1] == f"kept 40 of 80 pages -> {tmp_path / 'kept.jsonl'}"
    rounds = tmp_path / "rounds"
    done = prover("data", "iterate", pages["web"], "--seeds", pages["seeds"], "--negatives",
                  pages["negatives"], "--out", rounds, "--rounds", "2", cwd=tmp_path)  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    assert [line.split(":")[0] for line in done.stdout.splitlines()] == ["round 1", "round 2"]
    inputs = sum(p.stat().st_size for p in pages.values())
    assert disk_use(rounds) < 20 * inputs, (disk_use(rounds), inputs)


def test_data_run_without_its_input_is_one_line_and_writes_nothing(tmp_path):
    done = prover("data", "run", SMALL_RECIPE, cwd=tmp_path)
    expected = f"Error: input.path data/corpus: no such folder (relative to {tmp_path})"
    assert (done.returncode, done.stderr.splitlines(), done.stdout) == (2, [expected], "")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "data" / "corpus").mkdir(parents=True)
    done = prover("data", "run", SMALL_RECIPE, cwd=tmp_path)
    expected = f"Error: input.path data/corpus holds no *.jsonl* files (relative to {tmp_path})"
    assert (done.returncode, done.stderr.splitlines(), done.stdout) == (2, [expected], "")
    assert [p.name for p in tmp_path.iterdir()] == ["data"]


def test_data_run_prints_only_its_summary_and_writes_under_runs(pages, tmp_path):
    corpus = tmp_path / "data" / "corpus"
    corpus.mkdir(parents=True)
    (corpus / "web.jsonl").write_bytes(pages["web"].read_bytes())
    done = prover("data", "run", SMALL_RECIPE, cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[-1] == (
        "stats: runs/corpus-small/work/stats.json; output: runs/corpus-small/out"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "runs"]
    assert (tmp_path / "runs/corpus-small/work/logs/datatrove.log").stat().st_size > 0
    assert disk_use(tmp_path / "runs") < 20 * pages["web"].stat().st_size


def test_dedup_prints_no_datatrove_logs(pages, tmp_path):
    done = prover("data", "dedup", pages["web"], tmp_path / "dedup.jsonl", cwd=tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.splitlines()[-1] == f"kept 80 of 80 records -> {tmp_path / 'dedup.jsonl'}"
