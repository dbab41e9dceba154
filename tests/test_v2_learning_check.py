"""The V2 learning check runs end to end at tiny sizes (`--quick`, one seed) and ends with
one JSON line holding every summary key, so the measurement cannot rot. Slow: CI's slow step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KEYS = {
    "verifier_accuracy",
    "verifier_accuracy_by_class",
    "label_precision",
    "label_coverage",
    "label_precision_by_n",
    "gain_fraction",
    "gain_fraction_by_seed",
    "probe_false_positive_max",
    "test_time_single",
    "test_time_best",
    "seconds",
}


@pytest.mark.slow
def test_quick_learning_check_prints_its_summary_last(tmp_path):
    script = ROOT / "benchmarks" / "v2_learning_check.py"
    env = os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    misjudged = tmp_path / "misjudged.jsonl"
    done = subprocess.run([sys.executable, str(script), "--quick", "--quote-check",
                           "--misjudged", str(misjudged)], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    last = json.loads(done.stdout.strip().splitlines()[-1])
    assert KEYS <= set(last), KEYS - set(last)
    assert last["quote_check"] is True and "judge_passed_wrong" in last
    assert last["seeds"] == 1 and len(last["gain_fraction_by_seed"]) == 1
    assert set(last["verifier_accuracy_by_class"]) >= {"label_1", "label_0.5", "label_0"}
    assert 0.0 <= last["verifier_accuracy"] <= 1.0
    rows = [json.loads(line) for line in misjudged.read_text().splitlines()]
    assert all(r["seed"] == 0 and r["score"] != r["judged"] for r in rows)


@pytest.mark.slow
def test_quick_iterate_check_runs_two_rounds_resumes_and_prints_its_summary(tmp_path):
    """`v2_iterate_check.py --quick`: two `prover iterate` rounds from the shipped toy prover,
    measured against exact labels; a second run resumes the finished rounds."""
    script = ROOT / "benchmarks" / "v2_iterate_check.py"
    env = os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, str(script), "--quick", "--out", str(tmp_path / "run")]

    def run():
        done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True,
                              timeout=900)  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    def files():
        return {p: p.stat().st_mtime_ns for p in (tmp_path / "run").rglob("*") if p.is_file()}

    first = run()
    written = files()
    again = run()
    assert len(first["validity"]) == 2 and len(first["labels"]) == 2
    assert set(first["accuracy_on_round2_proofs"]) == {"start", "round 1", "round 2", "control"}
    assert again["accuracy_on_round2_proofs"] == first["accuracy_on_round2_proofs"]
    assert files() == written  # resumed: nothing trained, sampled or labelled again


def test_a_given_verifier_without_its_training_problems_is_one_line_and_exit_1(tmp_path):
    """`--verifier DIR` must know DIR's training problems to keep held-out sets unseen; without
    `training_problems.json` (or with no model at all) it stops before any work, with one line
    and no traceback."""
    script = ROOT / "benchmarks" / "v2_learning_check.py"
    env = os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, str(script), "--quick", "--verifier", str(tmp_path)]
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip() == f"error: --verifier {tmp_path} holds no model (no config.json)"
    (tmp_path / "config.json").write_text("{}")
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: --verifier needs {tmp_path / 'training_problems.json'} (its training problems): "
        f"[Errno 2] No such file or directory: '{tmp_path / 'training_problems.json'}'"
    ]
    (tmp_path / "training_problems.json").write_text('{"not": "a list"}')
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "must be a JSON list of problem texts" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("option", "line"),
    [
        (["--seeds", "0,x"], "error: --seeds '0,x': give integers, comma-separated (0,1,2)"),
        (["--label-temperature", "-0.5"], "error: --label-temperature -0.5: give 0 or more"),
        (["--grpo-seeds", "0"], "error: --grpo-seeds 0: give 1 or more"),
        (["--judge-retries", "2"], "error: --judge-retries 2: give 0 or more, with --quote-check"),
        (
            ["--misjudged", "/no/such/dir/m.jsonl"],
            "error: --misjudged /no/such/dir/m.jsonl: No such file or directory",
        ),
    ],
)
def test_bad_options_stop_with_one_line_before_any_work(option, line):
    script = ROOT / "benchmarks" / "v2_learning_check.py"
    env = os.environ | {"HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(script), "--quick", *option], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 2 and done.stderr.strip().splitlines()[-1].endswith(line)


def test_the_judges_training_credit_by_exact_label():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from v2_learning_check import credit

    tally = {(1.0, 1.0): 6, (1.0, 0.0): 2, (0.0, 1.0): 1, (0.0, 0.5): 2, (0.0, 0.0): 7,
             (0.0, None): 2}  # fmt: skip
    assert credit(tally) == pytest.approx({
        "proofs": 20, "correct": 0.4, "credit_to_wrong": 2 / 8, "wrong_passed": 1 / 12,
        "wrong_half": 2 / 12, "correct_missed": 2 / 8, "unreadable": 0.1,
    })  # fmt: skip
    assert credit({})["credit_to_wrong"] is None


def test_the_wrong_proofs_the_judge_passed_are_sorted_by_what_makes_them_wrong():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _v2_stages import wrong_kind

    from verifier_train.v2.toyworld import check_proof

    problem = "Prove that if 5*x = 59+16 then x = 15."
    right = "Step 1: 5*x = 75\nStep 2: x = 75/5\nStep 3: x = 15\nHence x = 15."
    cases = {
        right.replace("5*x = 75", "5*x = 76"): "false step",
        right.replace("Hence x = 15.", "Hence x = 16."): "false conclusion",
        "no proof here": "unreadable",
    }
    assert {text: wrong_kind(check_proof(problem, text)) for text in cases} == cases


def test_the_judge_keeps_the_training_proofs_it_scored_off_their_label():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _v2_stages import Misjudged, TalliedJudge

    class Fixed:  # a judge that scores every proof 1
        def verify(self, pairs):
            return [1.0] * len(pairs)

    problem = "Prove that if 5*x = 59+16 then x = 15."
    right = "Step 1: 5*x = 75\nStep 2: x = 75/5\nStep 3: x = 15\nHence x = 15."
    wrong = right.replace("5*x = 75", "5*x = 76")
    judge = TalliedJudge(Fixed())
    assert judge.verify([(problem, right), (problem, wrong)]) == [1.0, 1.0]
    assert judge.misjudged == [Misjudged(problem, wrong, 0.0, 1.0)]
    assert judge.tally == {(1.0, 1.0): 1, (0.0, 1.0): 1}


def test_a_gains_paired_standard_error_is_over_problems():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _v2_gain import paired_se

    from verifier_train.v2.toy_generator import Validity
    from verifier_train.v2.toyworld import generator_problems

    drawn = generator_problems(3, 0, ("linear",))
    right = {p["problem"]: p["proof"] for p in drawn}
    problems = list(right)

    def measured(valid: list[int]) -> Validity:  # valid proofs of each problem, of 2
        pairs = [(p, right[p] if k < n else "wrong")
                 for p, n in zip(problems, valid, strict=True) for k in range(2)]  # fmt: skip
        labels = tuple(float(text != "wrong") for _, text in pairs)
        return Validity(0.0, 0.0, 0.0, tuple(pairs), 0.0, labels)

    # per-problem gains 0.5, 0.5, 1: mean 2/3, sample sd 0.2887, over sqrt(3) problems
    assert paired_se(measured([0, 1, 0]), measured([1, 2, 2])) == pytest.approx(0.1667, abs=1e-4)
    assert paired_se(measured([0, 0, 0]), measured([1, 1, 1])) == 0.0


def test_with_two_grpo_seeds_the_gain_fraction_is_mean_gain_over_mean_gain(capsys):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from _v2_gain import gain_figures, print_generator
    from _v2_stages import GeneratorRun, GeneratorStart
    from v2_learning_check import Settings

    from verifier_train.v2.toy_generator import Validity

    def validity(sampled: float) -> Validity:
        return Validity(sampled, sampled, sampled, (("P", "a"), ("Q", "b")), 0.0, (1.0, 0.0))

    start = GeneratorStart(Path("sft"), ["P"], ["P", "Q"], 1.0, validity(0.10), 1.0)
    runs = [  # gains: verifier +0.03 and +0.05, exact +0.06 and +0.04
        GeneratorRun("verifier", validity(0.13), None, 1.0),
        GeneratorRun("exact", validity(0.16), None, 1.0),
        GeneratorRun("verifier", validity(0.15), None, 1.0, grpo_seed=1),
        GeneratorRun("exact", validity(0.14), None, 1.0, grpo_seed=1),
    ]
    got = gain_figures(start, runs)
    assert got["gain_fraction"] == pytest.approx(0.08 / 0.10)
    assert got["gain_fraction_by_grpo_seed"] == pytest.approx([0.5, 1.25])
    assert got["validity_after"] == pytest.approx({"verifier": 0.14, "exact": 0.15})
    assert got["runs_alike"] == [1.0, 1.0]
    print_generator(start, runs, Settings())
    out = capsys.readouterr().out
    assert "GRPO, verifier reward, GRPO seed 1" in out and "fraction reached: 0.80" in out
