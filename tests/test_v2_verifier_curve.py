"""benchmarks/v2_generator_proofs.py and v2_verifier_curve.py at tiny sizes: generator-written
proofs feed the curve's `genmeta` arm, every table prints, and the saved verifier lists its
training problems (slow: CI's slow step); bad inputs stop with one line before any work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
ENV = os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def bench(script: str, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    command = [sys.executable, str(ROOT / "benchmarks" / script), *args]
    return subprocess.run(command, env=ENV, cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def last_error(done: subprocess.CompletedProcess) -> str:
    """The last line a script wrote to stderr (argparse's one-line error)."""
    return done.stderr.strip().splitlines()[-1]


@pytest.mark.slow
def test_generator_proofs_feed_the_curve_which_saves_a_verifier(tmp_path):
    proofs = tmp_path / "gen.jsonl"
    done = bench("v2_generator_proofs.py", "--quick", "--out", str(proofs), "--problems", "30",
                 "--samples", "2")  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [json.loads(line) for line in proofs.read_text().splitlines()]
    assert rows and all(set(r) == {"problem", "proof", "score", "kind"} for r in rows)
    again = bench("v2_generator_proofs.py", "--quick", "--out", str(proofs), "--problems", "30")
    assert again.stdout.startswith("0 problems to sample")  # resumed: nothing left to sample
    with proofs.open("a") as f:
        f.write("not json\n")
    saved = tmp_path / "verifier"
    done = bench("v2_verifier_curve.py", "--arms", "genmeta,quote", "--steps", "2", "--every",
                 "2", "--copy-steps", "2", "--held-out", "4", "--generator-proofs",
                 str(proofs), "--save", str(saved),
                 "--save-peer", str(tmp_path / "peer"))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "skipped 1 unreadable lines (first: line" in out
    assert "meta-verification, greedy: 2 held-out meta records" in out
    assert "generator-written held-out proofs, greedy:" in out
    assert out.strip().splitlines()[-1].startswith("quote / genmeta planted-proof accuracy")
    trained = json.loads((saved / "training_problems.json").read_text())
    assert (saved / "config.json").is_file() and trained
    assert (tmp_path / "peer" / "config.json").is_file()


def test_curve_arms_that_need_generator_proofs_stop_before_any_work(tmp_path):
    done = bench("v2_verifier_curve.py", "--arms", "drill,gen", timeout=120)
    assert done.returncode == 2
    assert last_error(done).endswith(
        "error: the arms gen, genmeta, genskip, quote, metawork, workskip need "
        "--generator-proofs FILE"
    )
    done = bench("v2_verifier_curve.py", "--start", str(tmp_path), timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: --start {tmp_path} holds no model (no config.json)"


class Scripted:
    """A backend that answers every prompt with the next of `answers` (boxed scores)."""

    def __init__(self, answers: list[str]):
        self.answers, self.prompts = list(answers), []

    def generate(self, prompts, n, sampling, on_sample=None):
        from prover.backends.base import Completion

        self.prompts += prompts
        return [[Completion(self.answers.pop(0), 1, 1)] for _ in prompts]


def test_confirmations_meta_verify_only_the_issue_finding_analyses_split_by_rightness():
    """What auto-labelling asks of a verifier, measured: its analyses scoring below 1 are
    meta-verified with their text, and the confirmations (meta score 1) are split by whether
    the analysis's score is the exact label."""
    from _v2_train import VerifierScores, confirmations

    from prover.prompts import Templates

    rows = [{"problem": f"P{i}", "proof": f"Q{i}", "score": s} for i, s in
            enumerate([0.0, 0.0, 1.0, 0.5])]  # fmt: skip
    analyses = ("bad A \\boxed{0}", "bad B \\boxed{0}", "fine \\boxed{1}", "bad C \\boxed{0}")
    verified = VerifierScores(0.5, 0.25, 0.0, {}, analyses)
    meta = Scripted(["\\boxed{1}", "\\boxed{0}", "\\boxed{1}"])
    got = confirmations(meta, Templates.load(None), rows, verified, 64)
    assert (got.right, got.wrong, got.counts) == (0.5, 1.0, (2, 1))
    texts = [prompt[-1]["content"] for prompt in meta.prompts]
    assert len(texts) == 3 and "bad A" in texts[0] and "bad C" in texts[2]
