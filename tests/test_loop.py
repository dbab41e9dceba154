"""The loop's logic with a scripted backend: batching, selection, stopping and resume.

The scripted backend stands in for a model whose behaviour we choose; the tiny real model
runs the same loop end to end in test_cli.py."""

from __future__ import annotations

import itertools
import json

import pytest
from conftest import FakeBackend, Reply

from prover.backends.base import Completion, Sampling
from prover.errors import InputError
from prover.loop import Loop, LoopConfig
from prover.prompts import EVAL_CLOSING, EVAL_OPENING
from prover.rundir import RunDir

PROBLEMS = {"1": "Prove that 1 + 1 = 2.", "2": "Prove that 2 + 2 = 4."}


def loop_model() -> Reply:
    """Proofs are 'draft' at first and 'fixed' after refinement; the verifier gives 'fixed'
    proofs 1 and drafts 0 (or 0.5 for every third draft)."""
    drafts = itertools.count(1)

    def reply(prompt: str, i: int) -> str:
        if "grading a proof" in prompt:
            score = "1" if "fixed" in prompt else ("0.5" if "draft-2" in prompt else "0")
            return f"{EVAL_OPENING}\nissue in step {i}\n\n{EVAL_CLOSING} \\boxed{{{score}}}"
        if "earlier attempts" in prompt:
            return f"## Solution\nfixed proof\n## Self Evaluation\n{EVAL_CLOSING} \\boxed{{1}}"
        return f"## Solution\ndraft-{next(drafts) % 3}\n## Self Evaluation\n\\boxed{{0.5}}"

    return reply


def scripted(reply: Reply | None = None, kill_at: tuple[int, int] | None = None) -> FakeBackend:
    """The loop's model (`loop_model` unless `reply`), killed before prompt `kill_at` =
    (call, prompt); it reports prompt by prompt, like the openai backend."""
    kill = KeyboardInterrupt("simulated kill")
    return FakeBackend(reply or loop_model(), fail_at=kill_at, error=kill)


def make_loop(tmp_path, backend, resume=False, **overrides) -> Loop:
    settings = dict(proofs=4, verifications=3, top_k=2, rounds=3, generation=Sampling())
    config = LoopConfig(**(settings | overrides))
    run = RunDir(tmp_path / "run", {"problems": list(PROBLEMS.values())}, resume=resume)
    return Loop(backend, backend, config, run)


def test_each_stage_is_one_batched_call(tmp_path):
    backend = scripted()
    report = make_loop(tmp_path, backend).solve(PROBLEMS)
    # round 0: generate 2 problems x n=4, verify 8 proofs x n=3; round 1: refine the top 2 of
    # each problem (4 prompts x n=2), verify 8 proofs; then every problem has passed.
    assert backend.shapes == [(2, 4), (8, 3), (4, 2), (8, 3)]
    assert report["rounds"] == 2
    for entry in report["problems"]:
        assert entry["passed"] and entry["mean_score"] == 1.0 and entry["round"] == 1
        assert entry["solution"] == "fixed proof"


def test_refinement_prompt_holds_issue_analyses_lowest_first(tmp_path):
    backend = scripted()
    loop = make_loop(tmp_path, backend, rounds=0)
    loop.solve(PROBLEMS)
    jobs = loop.generation_jobs(PROBLEMS, 1)
    assert [j.key for j in jobs] == ["1/r1/k0", "1/r1/k1", "2/r1/k0", "2/r1/k1"]
    prompt = jobs[0].prompt[-1]["content"]
    # the best draft (0.5 mean) is refined first, with its three analyses
    assert "draft-2" in prompt and prompt.count("=== Evaluation") == 3


def test_meta_verification_runs_on_issue_finding_analyses(tmp_path):
    backend = scripted()
    make_loop(tmp_path, backend, meta=True, rounds=0).solve(PROBLEMS)
    # generate, verify, then one meta call over every analysis scored 0 or 0.5 (all 24)
    assert backend.shapes == [(2, 4), (8, 3), (24, 1)]


def test_kill_and_resume_recomputes_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        make_loop(tmp_path, scripted(kill_at=(2, 0))).solve(PROBLEMS)  # dies in round 1 generate
    again = scripted()
    report = make_loop(tmp_path, again, resume=True).solve(PROBLEMS)
    assert again.shapes == [(4, 2), (8, 3)]  # only round 1 is run
    run = RunDir(tmp_path / "run", {"problems": list(PROBLEMS.values())}, resume=True)
    ids = [p["id"] for p in run.records("proofs")]
    assert len(ids) == len(set(ids)) == 16
    assert all(e["passed"] for e in report["problems"])


def test_torn_stage_is_completed_not_repeated(tmp_path):
    make_loop(tmp_path, scripted(), rounds=0).solve(PROBLEMS)
    path = tmp_path / "run" / "verifications.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:-4]) + lines[-4][:20])  # lose 3 records and tear 1
    (tmp_path / "run" / "rounds.jsonl").unlink()
    again = scripted()
    make_loop(tmp_path, again, resume=True, rounds=0).solve(PROBLEMS)
    assert again.shapes == [(4, 1)]  # two proofs lack verifications: one call, n=1 copies
    records = [line for line in path.read_text().splitlines() if line]
    assert len(records) == 24


def test_resume_refuses_other_settings(tmp_path):
    make_loop(tmp_path, scripted(), rounds=0).solve(PROBLEMS)
    run_dir = tmp_path / "run"
    with pytest.raises(InputError, match="different problems"):
        RunDir(run_dir, {"problems": ["another"]}, resume=True)
    with pytest.raises(InputError, match="--resume"):
        RunDir(run_dir, {"problems": list(PROBLEMS.values())})


def test_unparseable_verifications_never_pass(tmp_path):
    backend = scripted(lambda prompt, i: "\x17 nonsense")
    report = make_loop(tmp_path, backend, rounds=1).solve(PROBLEMS)
    entry = report["problems"][0]
    assert not entry["passed"] and entry["mean_score"] is None and report["rounds"] == 2


def test_problem_without_usable_proofs_starts_afresh(tmp_path):
    model = loop_model()

    def truncates_first(prompt: str, i: int) -> str | Completion:
        text = model(prompt, i)
        if len(backend.calls) == 1:  # every round-0 proof is cut off at the token limit
            return Completion(text[:5], 10, 5, "length")
        return text

    backend = scripted(truncates_first)
    loop = make_loop(tmp_path, backend, rounds=1)
    report = loop.solve(PROBLEMS)
    # round 0: one generate call and no verification (nothing usable); round 1: fresh again
    assert backend.shapes == [(2, 4), (2, 4), (8, 3)]
    assert report["problems"][0]["round"] == 1


def test_corrupt_middle_line_is_an_error_not_a_silent_loss(tmp_path):
    make_loop(tmp_path, scripted(), rounds=0).solve(PROBLEMS)
    path = tmp_path / "run" / "proofs.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text(lines[0] + "{broken\n" + "".join(lines[1:]))
    with pytest.raises(InputError, match="line 2 is corrupt"):
        make_loop(tmp_path, scripted(), resume=True, rounds=0).solve(PROBLEMS)


def test_kill_mid_stage_keeps_what_finished_and_completes_the_round(tmp_path):
    with pytest.raises(KeyboardInterrupt):  # round 1 verify dies after 3 of its 8 proofs
        make_loop(tmp_path, scripted(kill_at=(3, 3))).solve(PROBLEMS)
    run = RunDir(tmp_path / "run", {}, resume=True)
    assert len(run.records("verifications")) == 24 + 3 * 3
    again = scripted()
    report = make_loop(tmp_path, again, resume=True).solve(PROBLEMS)
    assert again.shapes == [(5, 3)]  # only the 5 unverified proofs of round 1
    assert len(run.records("verifications")) == 48
    assert [r["round"] for r in run.records("rounds")] == [0, 1]
    assert report["rounds"] == 2 and all(e["passed"] for e in report["problems"])


def test_kill_after_the_last_stage_of_a_round_records_the_round(tmp_path, monkeypatch):
    append = RunDir.append

    def dies_on_round_1(self, kind, records):
        if kind == "rounds" and records[0]["round"] == 1:
            raise KeyboardInterrupt("killed before the round record")
        append(self, kind, records)

    monkeypatch.setattr(RunDir, "append", dies_on_round_1)
    with pytest.raises(KeyboardInterrupt):
        make_loop(tmp_path, scripted()).solve(PROBLEMS)
    monkeypatch.setattr(RunDir, "append", append)
    again = scripted()
    report = make_loop(tmp_path, again, resume=True).solve(PROBLEMS)
    assert again.shapes == []  # nothing left to compute; round 1 is only recorded
    assert report["rounds"] == 2 and all(e["passed"] for e in report["problems"])


def test_resumed_stage_draws_new_seeds(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        make_loop(
            tmp_path,
            scripted(kill_at=(1, 1)),
            generation=Sampling(seed=5),
            rounds=0,
        ).solve(PROBLEMS)
    again = scripted()
    make_loop(tmp_path, again, resume=True, rounds=0, generation=Sampling(seed=5)).solve(PROBLEMS)
    first_seed = 5 * 1000  # round 0, stage 0
    assert again.seeds[0] != first_seed


def test_line_separators_in_model_text_do_not_break_records(tmp_path):
    model = loop_model()
    odd = scripted(lambda prompt, i: model(prompt, i) + " \u2028 \u2029 \x85 end")
    make_loop(tmp_path, odd, rounds=0).solve(PROBLEMS)
    run = RunDir(tmp_path / "run", {}, resume=True)
    assert len(run.records("proofs")) == 8
    assert all(p["text"].endswith("\u2028 \u2029 \x85 end") for p in run.records("proofs"))


def test_each_record_file_is_read_once_per_run(tmp_path, monkeypatch):
    reads = []
    records = RunDir.records
    monkeypatch.setattr(
        RunDir, "records", lambda self, kind: reads.append(kind) or records(self, kind)
    )
    make_loop(tmp_path, scripted(), meta=True).solve(PROBLEMS)
    # the round's records are kept in memory as they are written, not read back each stage
    assert sorted(reads) == ["meta", "proofs", "rounds", "verifications"]


# -- `prover solve` as one library call -----------------------------------------------------
def test_solve_file_runs_resumes_and_keeps_the_run_json_fingerprint(tmp_path, monkeypatch):
    from dataclasses import replace

    from prover.backends.build import BackendConfig
    from prover.prompts import Templates
    from prover.solving import SolveRun, solve_file

    problem_file = tmp_path / "p.tex"
    problem_file.write_text(PROBLEMS["1"] + "\n")
    backend = scripted()
    monkeypatch.setattr("prover.solving.build_backends", lambda config: (backend, backend))
    loop = LoopConfig(proofs=2, verifications=2, top_k=1, rounds=1, generation=Sampling())
    run = SolveRun(problem_file, backend=BackendConfig(model="m"), loop=loop, out=tmp_path / "r")
    solved = solve_file(run)
    assert solved.failure is None and not solved.lean_checked and solved.run_dir == run.out
    assert [p.text for p in solved.problems] == [PROBLEMS["1"]]
    assert solved.report["problems"][0]["passed"]
    # the keys and values old run directories hold: they must keep resuming
    assert json.loads((run.out / "run.json").read_text()) == {
        "problems": [PROBLEMS["1"]], "model": "m", "verifier_model": None, "proofs": 2,
        "verifications": 2, "top_k": 1, "templates": Templates.load().digest(),
    }  # fmt: skip
    calls = len(backend.calls)
    with pytest.raises(InputError, match="already holds a run"):
        solve_file(run)
    assert solve_file(replace(run, resume=True)).report == solved.report
    assert len(backend.calls) == calls  # nothing recomputed
    with pytest.raises(InputError, match="different model"):
        solve_file(replace(run, resume=True, backend=BackendConfig(model="other")))


def test_solve_file_checks_its_flags_before_any_model_is_built(tmp_path, monkeypatch):
    from prover.solving import SolveRun, solve_file

    problem_file = tmp_path / "p.tex"
    problem_file.write_text(PROBLEMS["1"] + "\n")
    monkeypatch.setattr("prover.solving.build_backends", lambda config: pytest.fail("built"))
    with pytest.raises(InputError, match="--resume needs --out"):
        solve_file(SolveRun(problem_file, resume=True))
    with pytest.raises(InputError, match="--reuse needs --graph"):
        solve_file(SolveRun(problem_file, reuse=True, out=tmp_path / "r"))
    assert not (tmp_path / "r").exists()


def test_solve_file_says_why_a_problem_got_no_usable_proof(tmp_path, monkeypatch):
    from prover.backends.build import BackendConfig
    from prover.solving import SolveRun, solve_file

    problem_file = tmp_path / "p.tex"
    problem_file.write_text(PROBLEMS["1"] + "\n")
    backend = FakeBackend("## Solution\n")  # an empty solution: no usable proof
    monkeypatch.setattr("prover.solving.build_backends", lambda config: (backend, backend))
    loop = LoopConfig(proofs=2, verifications=1, top_k=1, rounds=0, generation=Sampling())
    run = SolveRun(problem_file, backend=BackendConfig(model="m"), loop=loop, out=tmp_path / "r")
    solved = solve_file(run)
    assert solved.failure is not None
    assert solved.failure.startswith("no usable proof for problem(s) 1 (2x empty solution)")
    assert solved.failure.endswith(f"details in {run.out}")
