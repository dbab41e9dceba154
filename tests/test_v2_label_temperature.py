"""benchmarks/v2_label_temperature.py: a random char-level verifier's scaled verification at
two temperatures on the same held-out generator-written proofs (its training problems left
out, an unreadable line reported and skipped); the last line is one JSON object. And
benchmarks/v2_false_passes.py's sorting of false passes by their first slip, and its second
look at the training proofs a learning check's judge misjudged."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENV = os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
SCRIPT = ROOT / "benchmarks" / "v2_label_temperature.py"


def test_two_temperatures_on_the_same_held_out_proofs(tmp_path):
    from verifier_train.v2.toyworld.charmodel import build_char_model
    from verifier_train.v2.toyworld.rows import toy_templates, vocabulary_words

    proof = "Step 1: x = 2\nHence x = 2."
    rows = [{"problem": f"Prove that if x+{k} = {k + 2} then x = 2.", "score": float(k % 2),
             "proof": proof, "kind": "generated"} for k in range(1, 9)]  # fmt: skip
    proofs = tmp_path / "gen.jsonl"
    proofs.write_text("".join(json.dumps(r) + "\n" for r in rows) + "cut")
    verifier = tmp_path / "verifier"
    build_char_model(verifier, vocabulary_words(toy_templates()), hidden=32, layers=1)
    (verifier / "training_problems.json").write_text(json.dumps([rows[0]["problem"]]))
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--verifier", str(verifier), "--generator-proofs",
         str(proofs), "--temperatures", "1,0.5", "--workers", "1", "--quick"],
        env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0] == f"{proofs}: skipped 1 unreadable lines (first: line 9)"
    assert lines[1].startswith("7 held-out generator-written proofs, labels {'0': 4, '1': 3}")
    out = json.loads(lines[-1])
    assert (out["proofs"], out["samples"]) == (7, 4)
    assert sorted(out["by_temperature"]) == ["0.5", "1"]
    assert sorted(out["by_temperature"]["1"]["precision_by_n"]) == ["1", "2", "4"]


def test_a_verifier_without_a_model_is_one_line(tmp_path):
    done = subprocess.run([sys.executable, str(SCRIPT), "--verifier", str(tmp_path)], env=ENV,
                          cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [f"error: --verifier {tmp_path} holds no model "
                                                "(no config.json)"]  # fmt: skip


# (proof, analysis, the first slip): false passes of the six-stage toy verifier
# (benchmarks/v2_false_passes.py, 2026-12-07)
SLIPS = [
    ("Step 1: 9*x = 13+5\nStep 2: 9*x = 36\nStep 3: x = 36/9\nStep 4: x = 4\nHence x = 4.",
     "Step 1: 9*x = 31+5 | 9*x = 31+5 ok\nStep 2: 31+5 -> 1+5=6, 3+0=3 -> 36: 9*x = 36 | "
     "9*x = 36 ok\nClaim: x = 4 | x = 4 ok", "copy slip"),
    ("Step 1: 5*x = 50\nStep 2: x = 50/5\nStep 3: x = 11\nHence x = 11.",
     "Step 1: 54+1 -> 4+1=5, 5+0=5 -> 55: 5*x = 55 | 5*x = 50 ok\nStep 2: x = 50/5 | "
     "x = 50/5 ok\nStep 3: 50/5 -> 10: x = 10 | x = 10 ok", "comparison slip"),
    ("Step 1: x = 2\nHence x = 3.", "Step 1: x = 2 | x = 2 ok\nClaim: x = 3 | x = 3 ok",
     "elsewhere"),
    ("Step 1: x = 1+1\nStep 2: x = 3\nHence x = 3.",
     "Step 1: x = 1+1 | x = 1+1 ok\nStep 2: 1+1 -> 2: x = 2 | x = 2# ; - | # ok", "copy slip"),
]  # fmt: skip


def test_false_passes_are_sorted_by_their_first_slip():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from v2_false_passes import slip

    assert [slip(proof, analysis) for proof, analysis, _ in SLIPS] == [k for *_, k in SLIPS]


def test_planted_typos_leave_out_the_verifiers_problems():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from v2_false_passes import planted_typos

    first = planted_typos(20, frozenset())
    seen = frozenset(p.problem for p in first[:10])
    again = planted_typos(20, seen)
    assert len(first) == len(again) == 20 and {p.label for p in first + again} == {0.0}
    assert not seen & {p.problem for p in again}
    assert first[10:] == again[:10]  # a fixed draw, filtered


def test_misjudged_proofs_are_sorted_and_where_an_issue_was_raised():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from v2_false_passes import flagged, sort_of

    assert [sort_of(0.0, 1.0), sort_of(0.0, 0.5), sort_of(1.0, 0.0), sort_of(1.0, None)] == [
        "wrong, passed", "wrong, half-credited", "correct, scored below 1",
        "correct, scored below 1"]  # fmt: skip
    step = "Step 1: x = 2 | x = 3# false\nClaim: x = 2 | x = 2 ok"
    claim = "Step 1: x = 2 | x = 2 ok\nClaim: x = 2 | x = 3# false"
    assert [flagged(step), flagged(claim), flagged("No valid step.")] == [
        "Step", "Claim", "nowhere"]  # fmt: skip


def test_misjudged_training_proofs_are_verified_again(tmp_path):
    from verifier_train.v2.toyworld.charmodel import build_char_model
    from verifier_train.v2.toyworld.rows import toy_templates, vocabulary_words

    right = "Step 1: 5*x = 75\nStep 2: x = 75/5\nStep 3: x = 15\nHence x = 15."
    problem = "Prove that if 5*x = 59+16 then x = 15."
    rows = [{"seed": 0, "problem": problem, "proof": right, "score": 1.0, "judged": 0.0},
            {"seed": 0, "problem": problem, "proof": right.replace("75", "76", 1),
             "score": 0.0, "judged": 1.0}]  # fmt: skip
    misjudged = tmp_path / "misjudged.jsonl"
    misjudged.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"seed": 1}\n')
    verifier = tmp_path / "verifier"
    build_char_model(verifier, vocabulary_words(toy_templates()), hidden=32, layers=1)
    (verifier / "training_problems.json").write_text("[]")
    script = ROOT / "benchmarks" / "v2_false_passes.py"
    done = subprocess.run(
        [sys.executable, str(script), "--verifier", str(verifier), "--misjudged", str(misjudged)],
        env=ENV, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert lines[0] == f"{misjudged}: skipped 1 unreadable lines (first: line 3)"
    assert any(line.startswith("  wrong, passed (1 proofs): now ") for line in lines)
    out = json.loads(lines[-1])
    assert set(out) == {"correct, scored below 1", "wrong, passed"}
    assert all(
        sum(v for k, v in cell.items() if k.startswith("now ")) == 1 for cell in out.values()
    )
