"""`prover score`: batch scoring with a scripted verifier, then the real CLI on the tiny model
over the published DeepSeekMath-V2 files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from click.testing import CliRunner
from conftest import FakeBackend

from prover.backends.base import Sampling
from prover.cli import main
from prover.progress import Reporter
from prover.prompts import EVAL_CLOSING, EVAL_OPENING
from prover.proofsets import ProofItem
from prover.rundir import RunDir, read_jsonl
from prover.scoring import BatchScorer, ScoreConfig

DATA = Path(__file__).parent / "data" / "deepseek-math-v2"


def grade(prompt: str, i: int) -> str:
    """Gives 'good' proofs 1 and others 0."""
    good = "good" in prompt.split("## Proof")[-1]
    return f"{EVAL_OPENING}\nchecked\n{EVAL_CLOSING} \\boxed{{{1 if good else 0}}}"


def items(n: int) -> list[ProofItem]:
    return [
        ProofItem(
            f"s/{i}",
            "Q",
            "good proof" if i % 2 else "bad",
            "s.jsonl",
            i + 1,
            grade=7.0 if i % 3 else 0.0,
            scale=7.0,
        )
        for i in range(n)
    ]


def test_batch_scorer_one_call_per_stage_and_resume(tmp_path):
    out = tmp_path / "scores.jsonl"
    backend = FakeBackend(grade, tokens=(10, 3))
    run = RunDir(tmp_path / "run", {})
    records = BatchScorer(
        backend, ScoreConfig(verifications=3, sampling=Sampling()), run, out
    ).score(items(6))
    assert backend.shapes == [(6, 3)]
    assert [r["mean_score"] for r in records] == [0.0, 1.0] * 3
    assert records[1]["scores"] == [1.0, 1.0, 1.0] and records[0]["human"] == 0.0
    again = FakeBackend(grade, tokens=(10, 3))
    resumed = BatchScorer(
        again, ScoreConfig(verifications=3), RunDir(tmp_path / "run", {}, resume=True), out
    ).score(items(6))
    assert again.calls == [] and resumed == records


def test_meta_verification_of_issue_finding_analyses(tmp_path):
    backend = FakeBackend(grade, tokens=(10, 3))
    config = ScoreConfig(verifications=2, meta=1)
    records = BatchScorer(backend, config, RunDir(tmp_path / "r", {}), tmp_path / "o.jsonl").score(
        items(4)
    )
    assert backend.shapes == [(4, 2), (4, 1)]  # the 2 bad proofs x 2 analyses scored 0
    assert all(len(v["meta"]) == 1 for v in records[0]["verifications"])


def score(*args: str):
    return CliRunner().invoke(main, ["score", *map(str, args)], catch_exceptions=False)


def test_published_files_score_without_flags(tiny_model, tmp_path):
    out = tmp_path / "scores.jsonl"
    result = score(
        *sorted(DATA.glob("*.jsonl")),
        "--model",
        tiny_model,
        "-V",
        "2",
        "--max-tokens",
        "8",
        "--out",
        out,
        "--report",
        tmp_path / "plots",
    )
    assert result.exit_code == 0, result.output
    records = read_jsonl(out)
    assert len(records) == 10 and len({r["id"] for r in records}) == 10
    too_long = [r for r in records if "prompt too long" in " ".join(r["unscored_reasons"])]
    assert too_long  # 10k-character proofs exceed the tiny model's context: said, not dropped
    assert all(r["human"] is not None for r in records)
    summary = json.loads((tmp_path / "scores.summary.json").read_text())
    assert summary["proofs"] == 10 and summary["skipped"] == 0
    assert len(list((tmp_path / "plots").glob("*.png"))) == 4
    assert "proofs scored" in result.stdout


def plain_set(path: Path, n: int, extra_lines: tuple[str, ...] = ()) -> Path:
    rows = [
        json.dumps({"problem": f"Show {i} >= 0.", "proof": f"{i} is a square.", "grade": i % 8})
        for i in range(n)
    ]
    path.write_text("\n".join([*rows, *extra_lines]) + "\n")
    return path


def test_bad_records_are_skipped_and_counted(tiny_model, tmp_path):
    data = plain_set(
        tmp_path / "set.jsonl", 3, ('{"problem": "x"}', "{oops", '{"problem": "x", "proof": ""}')
    )
    result = CliRunner().invoke(
        main,
        [
            "score",
            str(data),
            "--model",
            str(tiny_model),
            "-V",
            "1",
            "--max-tokens",
            "4",
            "--out",
            str(tmp_path / "o.jsonl"),
        ],
    )
    assert result.exit_code == 3
    assert "set.jsonl:4: missing field: proof" in result.output
    assert (
        "set.jsonl:5: malformed JSON" in result.output
        and "set.jsonl:6: empty proof" in result.output
    )
    assert len(read_jsonl(tmp_path / "o.jsonl")) == 3
    summary = json.loads((tmp_path / "o.summary.json").read_text())
    assert summary["skipped"] == 3 and summary["proofs"] == 3


def test_existing_output_needs_resume(tiny_model, tmp_path):
    data = plain_set(tmp_path / "set.jsonl", 1)
    (tmp_path / "o.jsonl").write_text("")
    result = CliRunner().invoke(main, ["score", str(data), "--out", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2 and "--resume" in result.output


def test_kill_9_then_resume(tiny_model, tmp_path):
    data = plain_set(tmp_path / "set.jsonl", 40)
    out = tmp_path / "o.jsonl"
    args = [
        sys.executable,
        "-m",
        "prover.cli",
        "score",
        str(data),
        "--model",
        str(tiny_model),
        "-V",
        "4",
        "--max-tokens",
        "24",
        "--batch-size",
        "4",
        "--out",
        str(out),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    partial = tmp_path / "o.jsonl.run" / "verifications.jsonl"
    deadline = time.monotonic() + 60
    while not partial.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = len(read_jsonl(partial))
    done = subprocess.run([*args, "--resume"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    verifications = read_jsonl(partial)
    keys = [(v["proof"], v["index"]) for v in verifications]
    assert len(keys) == len(set(keys)) == 160 and before <= 160
    records = read_jsonl(out)
    assert sorted(r["id"] for r in records) == sorted(f"set/{i}" for i in range(1, 41))


def test_out_must_be_a_file_path(tmp_path):
    data = plain_set(tmp_path / "set.jsonl", 1)
    (tmp_path / "afile").write_text("")
    for out in (tmp_path, tmp_path / "afile" / "o.jsonl"):
        result = CliRunner().invoke(main, ["score", str(data), "--out", str(out), "--resume"])
        assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1


def test_guessed_scale_is_announced(tiny_model, tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps({"problem": "Q", "proof": "P", "grade": 1}) + "\n")
    result = CliRunner().invoke(
        main,
        [
            "score",
            str(path),
            "--model",
            str(tiny_model),
            "-V",
            "1",
            "--max-tokens",
            "2",
            "--out",
            str(tmp_path / "o.jsonl"),
        ],
    )
    assert result.exit_code == 0 and "guessed 0-1" in result.output


class Notes(Reporter):
    """A reporter that keeps the log lines."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def log(self, message: str) -> None:
        self.lines.append(message)


def test_score_is_one_library_call(tiny_model, tmp_path):
    """What `prover score` runs, without the CLI: records and summary come back, bad records
    are logged, and a resumed call scores nothing again."""
    from dataclasses import replace

    from prover.backends.build import BackendConfig
    from prover.batchverify import ProofSetRun
    from prover.scorerun import ScoreRun, score_proof_sets

    data = plain_set(tmp_path / "set.jsonl", 2, ("{oops",))
    proofs = ProofSetRun((data,), tmp_path / "o.jsonl")
    config = ScoreConfig(1, 0, Sampling(max_tokens=4))
    run = ScoreRun(proofs, BackendConfig(model=str(tiny_model)), config)
    notes = Notes()
    result = score_proof_sets(run, reporter=notes)
    assert result.skipped == 1 and "skipped" in notes.lines[0] and "set.jsonl:3" in notes.lines[0]
    assert [r["id"] for r in result.records] == ["set/1", "set/2"] and result.lean is None
    assert json.loads(result.summary_path.read_text()) == result.summary
    verified = (tmp_path / "o.jsonl.run" / "verifications.jsonl").read_text()
    again = score_proof_sets(replace(run, proofs=replace(proofs, resume=True)))
    assert again.records == result.records
    assert (tmp_path / "o.jsonl.run" / "verifications.jsonl").read_text() == verified


def test_library_stages_do_not_import_the_cli():
    """score, label and the training stages are library calls: importing them loads no
    `prover.cli` module."""
    modules = ("prover.scorerun", "verifier_train.v2.labelrun", "verifier_train.v2.stages",
               "verifier_train.sft", "verifier_train.grpo", "verifier_train.iterative_rl",
               "verifier_train.pretrain", "verifier_train.reward_model",
               "verifier_train.math_shepherd")  # fmt: skip
    code = "; ".join(f"import {m}" for m in modules) + (
        "; import sys; print([m for m in sys.modules if m.startswith('prover.cli')])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
