"""The eval runner with scripted backends: program of thought through the real sandbox,
incremental records and resume after a failure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FakeBackend

from prover.backends.base import Sampling
from prover.evaluation.data import Item, load
from prover.evaluation.run import EvalConfig, run_eval
from prover.rundir import RunDir, read_jsonl
from prover.sandbox import SandboxConfig

QUESTIONS = {
    "q-mul": ("What is 6 times 7?", "42", "Let me compute.\n```python\nprint(6 * 7)\n```\n"),
    "q-two": (
        "What is 2 to the 10th power, minus 24?",
        "1000",
        "```python\nx = 2 ** 10\nprint(x)\n```\n```output\n1024\n```\n"
        "```python\nprint(x - 24)\n```",
    ),
    "q-err": ("What is 1 divided by 0?", "0", "```python\nprint(1 / 0)\n```"),
    "q-loop": ("Loop forever?", "1", "```python\nwhile True:\n    pass\n```"),
    "q-big": ("Print a lot?", "7", "```python\nprint('x' * 10**6)\n```"),
    "q-box": ("What is 3 + 4?", "7", "No code needed: $3+4=\\boxed{7}$."),
}


@pytest.fixture
def pot_items(tmp_path) -> list[Item]:
    rows = [
        {"id": key, "question": q, "answer": f"#### {a}"} for key, (q, a, _) in QUESTIONS.items()
    ]
    path = tmp_path / "pot.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return list(load(str(path)).items)


FAST_SANDBOX = SandboxConfig(timeout=2.0, cpu_seconds=2)


def test_program_of_thought_runs_the_code_in_the_sandbox(pot_items, tmp_path):
    backend = FakeBackend({q: text for q, _, text in QUESTIONS.values()})
    config = EvalConfig("pot", samples=1, sandbox=FAST_SANDBOX)
    report = run_eval(backend, pot_items, config, RunDir(tmp_path / "run", {"t": 1}))
    assert len(backend.calls) == 1 and backend.calls[0].sampling.stop == ("```output",)
    records = {r["id"]: r for r in read_jsonl(tmp_path / "run" / "samples.jsonl")}
    assert set(records) == set(QUESTIONS)

    mul = records["q-mul"]
    assert mul["program"]["code"] == "print(6 * 7)" and mul["program"]["status"] == "ok"
    assert mul["text"].endswith("```output\n42\n```\n")
    assert mul["program"]["correct"] and mul["deepseek"] and mul["answer"] == "42"

    two = records["q-two"]  # the model's invented output is cut; block 1 runs only
    assert two["program"]["code"] == "x = 2 ** 10\nprint(x)" and two["program"]["output"] == "1024"
    assert not two["program"]["correct"]

    err = records["q-err"]["program"]
    assert err["status"] != "ok" and not err["correct"]
    assert records["q-loop"]["program"]["status"] != "ok"
    assert records["q-loop"]["program"]["seconds"] < 10
    big = records["q-big"]["program"]
    assert len(big["output"]) <= 103 and "..." in big["output"]
    assert "program" not in records["q-box"] and records["q-box"]["deepseek"]

    overall = report["metrics"]["overall"]
    assert overall["programs_run"] == 5 and overall["program_accuracy"] == pytest.approx(1 / 6)
    assert overall["accuracy"] == pytest.approx(2 / 6)
    assert json.loads((tmp_path / "run" / "metrics.json").read_text()) == report


def test_records_land_incrementally_and_resume_runs_only_the_rest(pot_items, tmp_path):
    script = {q: text for q, _, text in QUESTIONS.values()}
    config = EvalConfig("cot", samples=2, sampling=Sampling(seed=3))
    out = tmp_path / "run"
    with pytest.raises(RuntimeError, match="backend died"):
        run_eval(FakeBackend(script, fail_at=(0, 2)), pot_items, config, RunDir(out, {"t": 1}))
    first = read_jsonl(out / "samples.jsonl")
    assert sorted((r["id"], r["index"]) for r in first) == [
        ("q-mul", 0), ("q-mul", 1), ("q-two", 0), ("q-two", 1)
    ]  # fmt: skip

    backend = FakeBackend(script)
    report = run_eval(backend, pot_items, config, RunDir(out, {"t": 1}, resume=True))
    ((prompts, n, sampling),) = backend.calls
    assert len(prompts) == 4 and n == 2 and sampling.seed == 3  # untouched items: same seed
    records = read_jsonl(out / "samples.jsonl")
    assert len(records) == 12 and records[:4] == first
    assert "program" not in records[0]  # cot runs no code
    assert report["graded_items"] == 6 and report["this_run"]["samples"] == 8

    again = FakeBackend(script)
    report = run_eval(again, pot_items, config, RunDir(out, {"t": 1}, resume=True))
    assert again.calls == [] and report["this_run"] == {}
    assert len(read_jsonl(out / "samples.jsonl")) == 12

    more = FakeBackend(script)
    bigger = EvalConfig("cot", samples=3)
    report = run_eval(more, pot_items, bigger, RunDir(out, {"t": 1}, resume=True))
    assert more.calls[0].n == 1 and len(read_jsonl(out / "samples.jsonl")) == 18
    assert report["metrics"]["overall"]["samples"] == 3


def test_only_the_items_of_this_run_count(pot_items, tmp_path):
    script = {q: text for q, _, text in QUESTIONS.values()}
    out: Path = tmp_path / "run"
    run_eval(FakeBackend(script), pot_items, EvalConfig("cot"), RunDir(out, {"t": 1}))
    report = run_eval(
        FakeBackend(script), pot_items[:2], EvalConfig("cot"), RunDir(out, {"t": 1}, True)
    )
    assert report["items"] == 2 and report["metrics"]["overall"]["items"] == 2
    assert report["usage"]["samples"] == 2


# -- `prover eval` as one library call ------------------------------------------------------
def test_evaluate_warns_runs_and_keeps_the_run_json_fingerprint(tmp_path, monkeypatch):
    from dataclasses import replace

    from prover.backends.build import BackendConfig
    from prover.errors import InputError
    from prover.evaluation.evaluate import EvalRun, evaluate

    data = tmp_path / "gsm.jsonl"
    rows = [{"question": "What is 3 + 4?", "answer": "#### 7"}]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{broken\n")
    backend = FakeBackend("$3+4=\\boxed{7}$")
    monkeypatch.setattr("prover.evaluation.evaluate.build_generator", lambda config: backend)
    config = EvalConfig("cot", samples=2, sampling=Sampling(temperature=0.5))
    run = EvalRun(str(data), config, BackendConfig(model="m"), out=tmp_path / "run")
    warnings: list[str] = []
    evaluated = evaluate(run, warn=warnings.append)
    assert evaluated.items == 1 and evaluated.run_dir == run.out
    assert evaluated.report["metrics"]["overall"]["accuracy"] == 1.0
    assert len(warnings) == 1 and warnings[0].startswith("warning: ") and "line 2" in warnings[0]
    # the keys and values old run directories hold: they must keep resuming
    assert json.loads((run.out / "run.json").read_text()) == {
        "command": "eval", "data": str(data), "task": "cot", "model": "m",
        "temperature": 0.5, "top_p": 0.95, "max_tokens": 2048,
    }  # fmt: skip
    assert evaluate(replace(run, resume=True)).report["this_run"] == {}
    with pytest.raises(InputError, match="--resume needs --out"):
        evaluate(replace(run, out=None, resume=True))
