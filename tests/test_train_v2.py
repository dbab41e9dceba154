"""`prover train verifier|meta-verifier|generator` end to end on the tiny model (CPU)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from prover.cli import main

pytest.importorskip("trl")
RECIPE = Path(__file__).resolve().parents[1] / "verifier_train/recipes/v2-tiny-cpu.yaml"
JUDGE = ["--judge-samples", "1", "--judge-max-tokens", "8", "--probe-every", "1"]


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def train(*args) -> object:
    return CliRunner().invoke(main, ["train", *map(str, args)])


def logged(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


@pytest.fixture
def graded(tmp_path) -> Path:
    rows = [{"problem": f"Show that {k} + {k} = {2 * k}.", "proof": f"{k} + {k} = {2 * k}.",
             "grade": k % 3 / 2} for k in range(4)]  # fmt: skip
    return write_jsonl(tmp_path / "graded.jsonl", [*rows, {"problem": "no proof"}, "{bad"])


def test_verifier_stage_with_joint_meta_data(tiny_model, graded, tmp_path):
    meta = write_jsonl(tmp_path / "meta.jsonl", [
        {"problem": "Show 1 = 1.", "proof": "Trivial.", "analysis": "Step 1 is unjustified.",
         "meta_score": 0.0},
        {"problem": "Show 2 = 2.", "proof": "2 = 2.", "analysis": "No issues.", "meta_score": 1},
    ])  # fmt: skip
    out = tmp_path / "verifier"
    result = train("verifier", graded, "--meta-data", meta, "--recipe", RECIPE, "--model",
                   tiny_model, "--out", out, *JUDGE)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output and "4 proofs and 2 analyses" in result.output
    assert (out / "final" / "model.safetensors").exists()
    entries = logged(out)
    assert any("rewards/joint_reward/mean" in e for e in entries)
    probes = [e for e in entries if "probe/unreadable" in e]
    assert [e["step"] for e in probes] == [0, 1, 2]


def test_meta_verifier_stage(tiny_model, tmp_path):
    data = write_jsonl(tmp_path / "meta.jsonl", [
        {"problem": "Show 1 = 1.", "proof": "Trivial.", "analysis": "A gap.", "score": 0},
        {"problem": "Show 2 = 2.", "proof": "2 = 2.", "analysis": "Fine.", "score": 1},
        {"problem": "Show 3 = 3.", "proof": "3 = 3.", "analysis": "Fine.", "score": 7},
    ])  # fmt: skip
    result = train("meta-verifier", data, "--recipe", RECIPE, "--model", tiny_model, "--out",
                   tmp_path / "meta")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "no meta score in [0, 1]" in result.output and "on 2 analyses" in result.output


def test_generator_stage_with_an_in_process_verifier(tiny_model, tmp_path):
    problems = write_jsonl(tmp_path / "problems.jsonl",
                           [{"problem": f"Show that {k} = {k}."} for k in range(4)])  # fmt: skip
    out = tmp_path / "generator"
    result = train("generator", problems, "--recipe", RECIPE, "--model", tiny_model, "--out",
                   out, "--verifier-model", tiny_model, *JUDGE)  # fmt: skip
    assert result.exit_code == 0, result.output
    steps = [e for e in logged(out) if "loss" in e]
    # The tiny model never writes the format, so every reward is R_format = 0 (not None).
    assert steps and steps[0]["rewards/generator_reward/unscorable_frac"] == 0.0
    assert any("probe/false_positive_rate" in e for e in logged(out))


def test_generator_needs_a_verifier(tiny_model, tmp_path):
    problems = write_jsonl(tmp_path / "p.jsonl", [{"problem": "Show 1 = 1."}])
    result = train("generator", problems, "--model", tiny_model, "--out", tmp_path / "o")
    assert result.exit_code == 2 and "--verifier-model" in result.output


def test_no_graded_proofs_is_one_line(tiny_model, tmp_path):
    data = write_jsonl(tmp_path / "ungraded.jsonl", [{"problem": "P", "proof": "Q"}])
    result = train("verifier", data, "--model", tiny_model, "--out", tmp_path / "o")
    assert result.exit_code == 2
    assert result.output.rstrip().splitlines()[-1] == (
        "Error: no graded proofs to train the verifier on"
    )


def test_generator_judged_by_a_verifier_behind_an_openai_server(
    tiny_model, transformers_server, tmp_path
):
    """The generator's reward from a verifier served separately (`transformers serve` here,
    `vllm serve` or SGLang in a real run)."""
    problems = write_jsonl(tmp_path / "problems.jsonl", [{"problem": "Show that 1 = 1."}] * 2)
    out = tmp_path / "generator"
    served = ["--verifier-model", str(tiny_model), "--verifier-model-backend", "openai",
              "--verifier-model-base-url", transformers_server]  # fmt: skip
    result = train("generator", problems, "--recipe", RECIPE, "--model", tiny_model, "--out",
                   out, *served, *JUDGE, "--max-steps", "1")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (out / "final" / "model.safetensors").exists()
    assert any("probe/unreadable" in e for e in logged(out))  # the probes went to the server


def test_verifier_stage_is_one_call_that_loads_its_tokenizer_once(tiny_model, graded, tmp_path,
                                                                   monkeypatch):  # fmt: skip
    from transformers import AutoTokenizer

    from verifier_train.trainer_io import StageRun
    from verifier_train.v2.rewards import JudgeConfig
    from verifier_train.v2.stages import ProbeConfig, V2Settings, VerifierRun, train_verifier

    loaded, load = [], AutoTokenizer.from_pretrained
    monkeypatch.setattr(AutoTokenizer, "from_pretrained",
                        lambda *a, **k: loaded.append(a[0]) or load(*a, **k))  # fmt: skip
    notes: list[str] = []
    settings = V2Settings(judge=JudgeConfig(1, 1.0, 8), probes=ProbeConfig(every=1, max_tokens=8))
    run = StageRun(tmp_path / "verifier", RECIPE, str(tiny_model), max_steps=1)
    trained = train_verifier(VerifierRun(run, (graded,), settings=settings), log=notes.append)
    assert loaded == [str(tiny_model)]
    assert trained.final == tmp_path / "verifier" / "final" and trained.show
    assert "on 4 proofs; model in" in trained.summary
    assert any(n.startswith("skipped") for n in notes)
