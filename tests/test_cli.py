"""`prover solve` and `prover verify` end to end through CliRunner with the tiny random model.

The model writes nonsense, so these runs also exercise the unparseable-output paths."""

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

from prover.cli import main

PROBLEM = r"""\documentclass{article}
\newcommand{\N}{\mathbb{N}}
\begin{document}
\begin{enumerate}
\item Prove that for every $n \in \N$, $n^2 + n$ is even.
\item Prove that $\sqrt{2}$ is irrational.
\end{enumerate}
\end{document}
"""

SMALL = ["-P", "2", "-V", "2", "-K", "1", "-R", "1", "--max-tokens", "16", "--seed", "0"]


@pytest.fixture
def problem_file(tmp_path) -> Path:
    path = tmp_path / "problems.tex"
    path.write_text(PROBLEM)
    return path


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_solve_writes_run_dir_and_prints_best_proof(tiny_model, problem_file, tmp_path):
    out = tmp_path / "run"
    result = invoke("solve", problem_file, "--model", tiny_model, "--out", out, *SMALL)
    assert result.exit_code in (0, 1), result.output
    assert "# Problem 1" in result.stdout and "# Problem 2" in result.stdout
    assert "\\mathbb{N}" in result.stdout  # the macro was expanded in the statement
    report = json.loads((out / "report.json").read_text())
    assert report["rounds"] == 2 and len(report["problems"]) == 2
    assert report["tokens"]["generate"]["samples"] == 2 * 2 + 2 * 2
    for name in ("proofs", "verifications", "rounds"):
        assert (out / f"{name}.jsonl").exists()


def test_solve_resume_recomputes_nothing(tiny_model, problem_file, tmp_path):
    out = tmp_path / "run"
    invoke("solve", problem_file, "--model", tiny_model, "--out", out, "--problem", "1", *SMALL)
    before = {p.name: p.read_text() for p in out.glob("*.jsonl")}
    result = invoke(
        "solve",
        problem_file,
        "--model",
        tiny_model,
        "--out",
        out,
        "--problem",
        "1",
        "--resume",
        "--format",
        "json",
        *SMALL,
    )
    assert {p.name: p.read_text() for p in out.glob("*.jsonl")} == before
    assert json.loads(result.stdout)["problems"][0]["problem"] == "1"


def test_solve_tex_format_and_deepseek_chat_format(tiny_model_no_template, problem_file, tmp_path):
    result = invoke(
        "solve",
        problem_file,
        "--model",
        tiny_model_no_template,
        "--problem",
        "2",
        "--format",
        "tex",
        "--out",
        tmp_path / "run",
        *SMALL,
    )
    assert "\\begin{problem}" in result.stdout and "irrational" in result.stdout


def test_verify_prints_scores_and_analyses(tiny_model, problem_file, tmp_path):
    proof = tmp_path / "proof.md"
    proof.write_text("$n^2+n = n(n+1)$ is a product of consecutive integers.")
    result = invoke(
        "verify",
        problem_file,
        proof,
        "--problem",
        "1",
        "--model",
        tiny_model,
        "-V",
        "3",
        "--max-tokens",
        "16",
        "--meta",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert len(report["verifications"]) == 3
    assert all(v["score"] is None for v in report["verifications"])  # nonsense is unparseable


def test_solve_through_openai_backend(transformers_server, tiny_model, problem_file, tmp_path):
    result = invoke(
        "solve",
        problem_file,
        "--backend",
        "openai",
        "--base-url",
        transformers_server,
        "--model",
        tiny_model,
        "--problem",
        "1",
        "--out",
        tmp_path / "run",
        *SMALL,
    )
    assert result.exit_code in (0, 1), result.output
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["tokens"]["generate"]["samples"] == 4


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "empty"),
        (b"\x00\x01binary\x00", "binary"),
        ("caf\xe9".encode("latin-1"), "UTF-8"),
        (
            b"\\documentclass{article}\n\\begin{document}\n% nothing\n\\end{document}\n",
            "no problem statement",
        ),
    ],
)
def test_bad_problem_files_exit_2(tmp_path, content, message):
    path = tmp_path / "bad.tex"
    path.write_bytes(content)
    result = CliRunner().invoke(main, ["solve", str(path)])
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("make", [lambda p: p / "missing.tex", lambda p: p])
def test_missing_file_or_directory_exit_2(tmp_path, make):
    result = CliRunner().invoke(main, ["solve", str(make(tmp_path))])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_problem_out_of_range_exit_2(problem_file):
    result = CliRunner().invoke(main, ["solve", str(problem_file), "--problem", "5"])
    assert result.exit_code == 2 and "2 problems" in result.output


def test_unloadable_model_is_one_line(problem_file, tmp_path):
    result = CliRunner().invoke(
        main, ["solve", str(problem_file), "--model", "no-such/model", "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("Error: model 'no-such/model'") and "--model" in lines[-1]
    assert "Traceback" not in result.output
    assert not (tmp_path / "r").exists()  # nothing to --resume, so nothing left behind


def test_resume_needs_out(problem_file):
    result = CliRunner().invoke(main, ["solve", str(problem_file), "--resume"])
    assert result.exit_code == 2 and "--out" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_verify_loads_only_the_verifier_and_strips_self_evaluation(
    tiny_model, problem_file, tmp_path
):
    proof = tmp_path / "proof.md"
    proof.write_text("## Solution\nn(n+1) is even.\n\n## Self Evaluation\n\\boxed{1}")
    result = invoke(
        "verify",
        problem_file,
        proof,
        "--problem",
        "1",
        "--model",
        "no-such/generator",
        "--verifier-model",
        tiny_model,
        "-V",
        "2",
        "--max-tokens",
        "8",
    )
    assert result.exit_code == 0, result.output
    assert "Mean score" in result.stdout


@pytest.mark.parametrize("content", ["", "## Solution\n\n## Self Evaluation\nfine"])
def test_verify_without_a_proof_exits_2(problem_file, tmp_path, content):
    proof = tmp_path / "proof.md"
    proof.write_text(content)
    result = CliRunner().invoke(main, ["verify", str(problem_file), str(proof), "--problem", "1"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1


def test_unwritable_run_directory_is_one_line(tiny_model, problem_file, tmp_path):
    (tmp_path / "file").write_text("")
    result = CliRunner().invoke(
        main,
        [
            "solve",
            str(problem_file),
            "--model",
            str(tiny_model),
            "--out",
            str(tmp_path / "file" / "run"),
            *SMALL,
        ],
    )
    assert result.exit_code == 2 and "cannot create run directory" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("device", ["cuda", "not-a-device"])
def test_unusable_device_is_one_line(tiny_model, problem_file, tmp_path, device):
    result = CliRunner().invoke(
        main,
        [
            "solve",
            str(problem_file),
            "--model",
            str(tiny_model),
            "--device",
            device,
            "--out",
            str(tmp_path / "r"),
        ],
    )
    assert result.exit_code == 1 and "device" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_local_directory_that_is_not_a_model(problem_file, tmp_path):
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(
        main,
        [
            "solve",
            str(problem_file),
            "--model",
            str(tmp_path / "empty"),
            "--out",
            str(tmp_path / "r"),
        ],
    )
    assert result.exit_code == 1 and "is not a loadable transformers model" in result.output


def test_every_option_has_help():
    import click

    for command in ("solve", "verify"):
        for param in main.commands[command].params:
            if isinstance(param, click.Option) and param.name != "help":
                assert param.help, (command, param.name)


def test_kill_9_then_resume(tiny_model, problem_file, tmp_path):
    """A real process killed with SIGKILL mid-run resumes without duplicates or losses."""
    out = tmp_path / "run"
    args = [
        sys.executable,
        "-m",
        "prover.cli",
        "solve",
        str(problem_file),
        "--model",
        str(tiny_model),
        "--out",
        str(out),
        *SMALL,
        "-R",
        "3",
        "-P",
        "4",
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (out / "verifications.jsonl").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = subprocess.run([*args, "--resume"], env=env, capture_output=True, text=True)
    assert done.returncode in (0, 1), done.stderr
    proofs = [json.loads(x) for x in (out / "proofs.jsonl").read_text().splitlines()]
    assert len({p["id"] for p in proofs}) == len(proofs)
    rounds = [json.loads(x)["round"] for x in (out / "rounds.jsonl").read_text().splitlines()]
    assert sorted(set(rounds)) == sorted(rounds)  # no round recorded twice
    verifications = [json.loads(x) for x in (out / "verifications.jsonl").read_text().splitlines()]
    keys = [(v["proof"], v["index"]) for v in verifications]
    assert len(keys) == len(set(keys))
    usable = {p["id"] for p in proofs if p["usable"]}
    assert {v["proof"] for v in verifications} == usable  # every usable proof was verified
