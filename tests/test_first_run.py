"""What a new user meets in the first hour (issue 14): a model hub that cannot be reached, a
model folder that does not exist, a model too big for the machine, `--dtype`, optional
extras checked before the work, `python -m prover.tiny DIR`, and the eval table's units.
Each test checks the exact line and exit code the user sees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from prover.cli import main

ROOT = Path(__file__).resolve().parents[1]
EASY = ROOT / "datasets" / "examples" / "easy_sum.tex"
GIB = 2**30
WAYS = (
    "download it where there is a network (hf download deepseek-ai/deepseek-math-7b-rl), use a "
    "local folder (--model DIR), or build a tiny test model in one (python -m prover.tiny DIR)"
)


def invoke(*args, **kwargs):
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


def no_hub_env(tmp_path: Path) -> dict[str, str]:
    """No HF_HUB_OFFLINE, an empty cache, and a hub that refuses connections at once."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    }
    return env | {"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HOME": str(tmp_path / "hf-home")}


def test_unreachable_hub_is_one_line_in_seconds(tmp_path):
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "prover.cli", "solve", str(EASY)],
        cwd=tmp_path,
        env=no_hub_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.monotonic() - start
    expected = (
        "Error: model 'deepseek-ai/deepseek-math-7b-rl' is not in the local cache and the model "
        f"hub (http://127.0.0.1:9) cannot be reached: {WAYS}"
    )
    assert (done.returncode, done.stderr.splitlines(), done.stdout) == (1, [expected], "")
    assert elapsed < 10, elapsed
    assert not (tmp_path / "runs").exists()


def test_offline_mode_names_the_same_ways_forward(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    assert constants.HF_HUB_OFFLINE  # tests run offline (conftest)
    result = invoke("solve", EASY)
    expected = (
        "Error: model 'deepseek-ai/deepseek-math-7b-rl' is not in the local cache and "
        f"HF_HUB_OFFLINE is set: {WAYS}\n"
    )
    assert (result.exit_code, result.output) == (1, expected)


def test_a_missing_model_folder_is_named_as_one(tmp_path):
    result = invoke("solve", EASY, "--model", "./no-such-folder")
    assert (result.exit_code, result.output) == (
        2,
        "Error: --model ./no-such-folder: no such folder\n",
    )


def test_iterate_hint_names_the_recipe_key(tmp_path):
    recipe = tmp_path / "iterate.yaml"
    recipe.write_text("model: ./tiny-model-dir\n")
    result = invoke("iterate", recipe, "--out", tmp_path / "out")
    assert (result.exit_code, result.output) == (
        2,
        "Error: model: ./tiny-model-dir: no such folder\n",
    )


@pytest.fixture(scope="module")
def llama7b_config(tmp_path_factory) -> Path:
    """A folder with only the config of a 6.74B-parameter Llama (Llama-2-7B's shape)."""
    from transformers import LlamaConfig

    path = tmp_path_factory.mktemp("llama7b")
    LlamaConfig(
        hidden_size=4096,
        intermediate_size=11008,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=32,
        vocab_size=32000,
    ).save_pretrained(path)
    return path


def test_float32_that_does_not_fit_stops_before_loading(llama7b_config, monkeypatch):
    monkeypatch.setattr("prover.backends.memory.free_bytes", lambda device: 20 * GIB)
    result = invoke(
        "solve", EASY, "--model", llama7b_config, "--device", "cpu", "--dtype", "float32"
    )
    expected = (
        f"Error: model {llama7b_config} needs about 30.1 GiB in float32 (6.74B parameters), "
        "more than the 20.0 GiB free on cpu; pass --dtype bfloat16 (about 15.1 GiB)\n"
    )
    assert (result.exit_code, result.output) == (1, expected)


def test_a_model_too_big_even_in_bfloat16_is_one_line(llama7b_config, monkeypatch):
    monkeypatch.setattr("prover.backends.memory.free_bytes", lambda device: 10 * GIB)
    result = invoke("verify", EASY, EASY, "--model", llama7b_config, "--device", "cpu")
    expected = (
        f"Error: model {llama7b_config} needs about 15.1 GiB in bfloat16 (6.74B parameters), "
        "more than the 10.0 GiB free on cpu; use a smaller model or a machine with more memory\n"
    )
    assert (result.exit_code, result.output) == (1, expected)


def test_auto_dtype_is_bfloat16_on_a_cpu_only_when_float32_does_not_fit():
    from prover.backends.memory import choose_dtype

    params = 6_738_415_616
    assert choose_dtype("auto", "cpu", params, 20 * GIB) == "bfloat16"
    assert choose_dtype("auto", "cpu", params, 40 * GIB) == "float32"
    assert choose_dtype("auto", "cpu", None, None) == "float32"
    assert choose_dtype("auto", "cuda:0", params, 80 * GIB) == "bfloat16"
    assert choose_dtype("float16", "cpu", params, 80 * GIB) == "float16"


def test_dtype_option_loads_the_model_in_that_dtype(tiny_model, tmp_path):
    import torch

    from prover.backends.hf import HFBackend

    backend = HFBackend(str(tiny_model), device="cpu", dtype="bfloat16", batch_size=4)
    assert backend.lm.dtype == torch.bfloat16 and backend.dtype == "bfloat16"
    assert HFBackend(str(tiny_model), device="cpu").dtype == "float32"
    for command in ("solve", "verify", "score", "eval", "sample", "label"):
        help_text = invoke(command, "--help").output
        assert "--dtype [auto|bfloat16|float16|float32]" in help_text, command
    proof = tmp_path / "proof.md"
    proof.write_text("## Solution\nBy induction.\n")
    args = ["--model", tiny_model, "--dtype", "bfloat16", "-V", "1", "--max-tokens", "4"]
    result = invoke("verify", EASY, proof, *args, "--format", "json")
    assert result.exit_code == 0, result.output


def test_score_report_without_plots_extra_fails_before_scoring(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    proofs = tmp_path / "proofs.jsonl"
    proofs.write_text(json.dumps({"problem": "Show 1 + 1 = 2.", "proof": "Count."}) + "\n")
    out = tmp_path / "scores.jsonl"
    args = ["--model", tiny_model, "--out", out, "--report", tmp_path / "plots", "-V", "1"]
    result = invoke("score", proofs, *args, "--max-tokens", "4")
    expected = "Error: matplotlib is not installed; install it with: pip install 'prover[plots]'\n"
    assert (result.exit_code, result.output) == (1, expected)
    assert not out.exists() and not out.with_name("scores.jsonl.run").exists()


def test_python_m_prover_tiny_writes_a_model(tmp_path):
    folder = tmp_path / "tiny"
    run = [sys.executable, "-m", "prover.tiny", str(folder)]
    done = subprocess.run(run, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout, done.stderr) == (
        0,
        f"tiny model -> {folder} (random weights: it writes nonsense)\n",
        "",
    )
    assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()
    again = subprocess.run(run, capture_output=True, text=True, timeout=120)
    expected = f"Error: {folder} is not empty; give a new or empty folder\n"
    assert (again.returncode, again.stderr) == (2, expected)


def test_eval_table_shows_percentages():
    from prover.cli.eval import _render, metrics_table

    overall = {"items": 4, "accuracy": 0.5, "maj@2": 0.25, "pass@1": 0.5, "pass@2": 0.75}
    report = {"task": "cot", "samples_per_item": 2, "metrics": {"overall": overall}}
    lines = _render(metrics_table(report)).splitlines()
    row = next(line for line in lines if "overall" in line)
    assert row.split() == ["│", "overall", "│", "4", "│", "50.0%", "│", "25.0%", "│", "50.0%",
                           "│", "75.0%", "│"]  # fmt: skip


def test_toy_world_writes_what_the_iterate_recipe_needs(tmp_path):
    toy = tmp_path / "toy"
    result = invoke("toy", "write", toy, "--proofs", "8", "--problems", "2")
    assert (result.exit_code, result.output.splitlines()) == (
        0,
        [
            f"{toy}/graded.jsonl (8 records)",
            f"{toy}/problems.jsonl (2 records)",
            f"{toy}/iterate.yaml",
        ],
    )
    recipe = toy / "iterate.yaml"
    result = invoke("iterate", recipe, "--out", tmp_path / "run")
    expected = f"Error: no model: pass --model DIR or set `model` in {recipe}\n"
    assert (result.exit_code, result.output) == (2, expected)
    again = invoke("toy", "write", toy)
    expected = f"Error: {toy}/graded.jsonl exists; choose another folder\n"
    assert (again.exit_code, again.output) == (2, expected)


@pytest.mark.slow
def test_iterate_runs_on_the_toy_world_with_a_tiny_model(tiny_model, tmp_path):
    pytest.importorskip("trl")
    toy = tmp_path / "toy"
    assert invoke("toy", "write", toy, "--proofs", "8", "--problems", "2").exit_code == 0
    args = ["--model", tiny_model, "--out", tmp_path / "run", "--rounds", "1"]
    result = invoke("iterate", toy / "iterate.yaml", *args)
    assert result.exit_code == 0, result.output
    assert "round 0 done" in result.output.splitlines()  # (the trainer logs to stdout too)


def test_a_cached_model_loads_offline_when_the_hub_is_unreachable(tiny_model, tmp_path):
    import shutil

    repo = tmp_path / "hf-home" / "hub" / "models--someone--tiny"
    shutil.copytree(tiny_model, repo / "snapshots" / "abc123")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    proof = tmp_path / "proof.md"
    proof.write_text("## Solution\nBy induction.\n")
    args = ["verify", EASY, proof, "--model", "someone/tiny", "-V", "1", "--max-tokens", "4"]
    done = subprocess.run(
        [sys.executable, "-m", "prover.cli", *map(str, args), "--format", "json"],
        cwd=tmp_path,
        env=no_hub_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Retrying" not in done.stderr and len(json.loads(done.stdout)["verifications"]) == 1


def test_auto_dtype_is_float16_on_a_gpu_without_bfloat16(monkeypatch):
    import torch

    from prover.backends.memory import choose_dtype

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda index=0: (7, 0))  # V100
    assert choose_dtype("auto", "cuda:0", None, None) == "float16"
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda index=0: (9, 0))  # H100
    assert choose_dtype("auto", "cuda:1", None, None) == "bfloat16"
