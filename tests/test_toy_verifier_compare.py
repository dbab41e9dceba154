"""benchmarks/toy_verifier_compare.py: two random char-level verifiers scored on the same
held-out proofs, neither's training problems among them; a verifier folder without its
training problems stops with one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
SCRIPT = ROOT / "benchmarks" / "toy_verifier_compare.py"


def bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=ENV, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)  # fmt: skip


def _verifier(path: Path, problems: list[str]) -> Path:
    from verifier_train.v2.toyworld.charmodel import build_char_model
    from verifier_train.v2.toyworld.rows import toy_templates, vocabulary_words

    build_char_model(path, vocabulary_words(toy_templates()), hidden=32, layers=1)
    (path / "training_problems.json").write_text(json.dumps(problems))
    return path


def test_compare_scores_both_on_sets_neither_trained_on(tmp_path):
    proof = "Step 1: x = 3\nHence x = 2."
    rows = [{"problem": f"Prove that if x+{k} = {k + 2} then x = 2.", "score": 0.0,
             "proof": proof, "kind": "generated"} for k in range(1, 9)]  # fmt: skip
    proofs = tmp_path / "gen.jsonl"
    proofs.write_text("".join(json.dumps(r) + "\n" for r in rows) + "cut")
    peer = _verifier(tmp_path / "peer", [rows[0]["problem"]])
    mine = _verifier(tmp_path / "mine", [rows[1]["problem"]])
    done = bench("--peer", str(peer), "--verifier", str(mine), "--proofs", str(proofs),
                 "--held-out", "4", "--tokens", "4")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert "skipped 1 unreadable lines (first: line 9)" in lines[0]
    assert lines[1].startswith("held out: 4 planted proofs, 3 generator-written proofs; 2 ")
    assert lines[2] == "generator-written: 3 problems; labels 0 / 0.5 / 1: 3 / 0 / 0"
    assert [line.split()[0] for line in lines[4:6]] == ["peer", "verifier"]
    assert lines[-1].startswith("verifier / peer accuracy: planted")


def test_a_verifier_without_training_problems_is_one_line(tmp_path):
    done = bench("--peer", str(tmp_path), "--verifier", str(tmp_path))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [f"error: --peer {tmp_path} holds no model "
                                                "(no config.json)"]  # fmt: skip
