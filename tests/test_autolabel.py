"""Auto-labelling: the rules on constructed verdicts, the two-stage labeller with a scripted
verifier (one call per stage, lines written as proofs are decided, resume after a crash),
then `prover label` end to end on the tiny model (structure, bad records, resume)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FakeBackend

from prover.cli import main
from prover.errors import InputError
from prover.proofsets import ProofItem
from prover.rundir import RunDir, read_jsonl
from prover.runrecords import Verification
from verifier_train.v2.autolabel import AutoLabeler, LabelConfig, is_valid, label_proof

# -- the rules --------------------------------------------------------------------------


def verdicts(*scores):
    return [
        Verification(proof="p", index=i, score=s, analysis=f"analysis {i}", reason=None)
        for i, s in enumerate(scores)
    ]


def metas(votes: dict[int, list]):
    return [
        Verification(proof="p", verification=v, index=j, score=s)
        for v, scores in votes.items()
        for j, s in enumerate(scores)
    ]


RULES = [
    # name, analysis scores, meta votes per analysis, k, label, rule
    ("all clean", (1, 1, 1, 1), {}, 1, 1.0, "no_issues"),
    ("one valid 0, k=1", (1, 0, 1, 1), {1: [1, 1, 0]}, 1, 0.0, "lowest_valid"),
    ("one valid 0, k=2", (1, 0, 1, 1), {1: [1, 1, 0]}, 2, None, "too_few_valid"),
    ("two valid 0.5, k=2", (0.5, 1, 0.5, 1), {0: [1, 1, 1], 2: [1, 1, 0.5]}, 2, 0.5, None),
    ("invalid low scores", (0, 0, 1, 1), {0: [0, 0, 1], 1: [0.5, 1, 0]}, 1, None, None),
    ("mixed: 0 invalid, 0.5 valid", (0, 0.5, 1, 1), {0: [0, 0, 0], 1: [1, 1, 1]}, 1, None, None),
    ("mixed: 0 valid, 0.5 invalid", (0.5, 0, 0.5, 1), {0: [0, 0, 0], 1: [1, 1, 1]}, 1, 0.0, None),
    ("meta tie is not most", (0, 1), {0: [1, 0]}, 1, None, "too_few_valid"),
    ("unreadable metas do not confirm", (0, 1), {0: [1, None, None]}, 1, None, None),
    ("unread analysis blocks 1", (1, None, 1), {}, 1, None, "unreadable"),
    ("unread analysis blocks 0.5", (0.5, None, 1), {0: [1, 1, 1]}, 1, None, "unreadable"),
    ("unread analysis cannot undercut 0", (0, None, 1), {0: [1, 1, 1]}, 1, 0.0, "lowest_valid"),
    ("nothing readable", (None, None), {}, 1, None, "no_readable"),
    ("no analyses at all", (), {}, 1, None, "no_readable"),
]


@pytest.mark.parametrize(
    "scores, votes, k, expected, rule", [r[1:] for r in RULES], ids=[r[0] for r in RULES]
)
def test_label_rules(scores, votes, k, expected, rule):
    label = label_proof(verdicts(*scores), metas(votes), k)
    assert label.score == expected
    assert label.status == ("needs_human" if expected is None else "labelled")
    if rule:
        assert label.evidence["rule"] == rule
    if expected is None and rule is None:
        assert label.evidence["rule"] == "too_few_valid"


def test_evidence_names_the_analyses_and_votes():
    label = label_proof(verdicts(0, 0, 0.5, 1), metas({0: [1, 1, 0], 1: [0, 0, None]}), 1)
    evidence = label.evidence
    assert (label.score, evidence["lowest"], evidence["k"]) == (0.0, 0.0, 1)
    assert evidence["valid"] == [0] and evidence["invalid"] == [1]
    assert evidence["scores"] == [0, 0, 0.5, 1] and evidence["unreadable"] == []
    assert evidence["rule"] == "lowest_valid" and evidence["unread_reasons"] == []
    issues = {i["index"]: i for i in evidence["issues"]}
    assert sorted(issues) == [0, 1, 2]  # the 0.5 analysis was never meta-verified here
    assert issues[1]["votes"] == [0, 0, None] and issues[0]["analysis"] == "analysis 0"
    assert not issues[2]["valid"] and issues[2]["votes"] == []
    assert json.loads(json.dumps(evidence)) == evidence


def test_majority_of_all_votes():
    assert is_valid([1]) and is_valid([1, 1, 0]) and is_valid([1, 1, None])
    assert not is_valid([]) and not is_valid([1, 0]) and not is_valid([1, 0.5, 0.5])


def test_k_must_be_reachable():
    with pytest.raises(InputError, match="k=5"):
        LabelConfig(analyses=4, min_valid=5)


# -- the labeller with a scripted verifier ----------------------------------------------


class Crash(Exception):
    pass


def scripted_verdict(prompt: str, j: int) -> str:
    """Reads its verdicts from the proof, which holds `<<{"v": [...], "m": {"j": [...]}}>>`:
    verification j scores v[j] (None: no boxed score) and names itself `#A<j>`; the meta-
    verifications of analysis j score m[j]."""
    script = json.loads(re.search(r"<<(.*?)>>", prompt).group(1))
    analysis = re.search(r"#A(\d+)", prompt)
    score = (script["m"][analysis.group(1)] if analysis else script["v"])[j]
    boxed = "no score" if score is None else f"\\boxed{{{score}}}"
    return f"#A{j} checked. {boxed}"


def script(crash_at: tuple[int, int] | None = None) -> FakeBackend:
    """The scripted verifier; crashes before prompt `crash_at` = (call, prompt)."""
    return FakeBackend(scripted_verdict, tokens=(10, 4), fail_at=crash_at, error=Crash())


SCRIPTS = {
    "clean": {"v": [1, 1, 1], "m": {}},
    "zero": {"v": [1, 0, 1], "m": {"1": [1, 1, 0]}},
    "mixed": {"v": [0, 0.5, 1], "m": {"0": [0, 0, 1], "1": [1, 1, 1]}},
    "unread": {"v": [1, None, 1], "m": {}},
}


def script_items() -> list[ProofItem]:
    return [
        ProofItem(name, "Q", f"<<{json.dumps(s)}>>", "s", k + 1)
        for k, (name, s) in enumerate(SCRIPTS.items())
    ]


def labeller(tmp_path: Path, backend, resume: bool = False) -> AutoLabeler:
    config = LabelConfig(analyses=3, meta=3, min_valid=1)
    tmp_path.mkdir(exist_ok=True)
    run = RunDir(tmp_path / "run", {}, resume=resume)
    return AutoLabeler(backend, config, run, tmp_path / "labels.jsonl")


def test_two_stages_one_call_each(tmp_path):
    backend = script()
    records = {r["id"]: r for r in labeller(tmp_path, backend).label(script_items())}
    assert backend.shapes == [(4, 3), (3, 3)]  # 3 issue-finding analyses meta-verified
    assert {k: (r["label"], r["status"]) for k, r in records.items()} == {
        "clean": (1.0, "labelled"),
        "zero": (0.0, "labelled"),
        "mixed": (None, "needs_human"),
        "unread": (None, "needs_human"),
    }
    written = [r["id"] for r in read_jsonl(tmp_path / "labels.jsonl")]
    assert written[:2] == ["clean", "unread"]  # decided without meta-verification: written first
    zero = records["zero"]
    assert zero["evidence"]["valid"] == [1] and zero["evidence"]["issues"][0]["votes"] == [1, 1, 0]
    assert zero["proof"].startswith("<<") and zero["problem"] == "Q"
    assert zero["tokens"]["meta"]["samples"] == 3


@pytest.mark.parametrize(
    "crash_at, resumed_calls", [((0, 2), [(2, 3), (3, 3)]), ((1, 1), [(2, 3)])]
)  # crash before the 3rd verification prompt, or before the 2nd meta-verification prompt
def test_resume_after_a_crash_recomputes_nothing(tmp_path, crash_at, resumed_calls):
    with pytest.raises(Crash):
        labeller(tmp_path, script(crash_at)).label(script_items())
    partial = [r["id"] for r in read_jsonl(tmp_path / "labels.jsonl")]
    assert "clean" in partial  # the first proof was decided before the crash
    backend = script()
    records = labeller(tmp_path, backend, resume=True).label(script_items())
    assert backend.shapes == resumed_calls  # only the prompts that never finished
    assert sorted(r["id"] for r in records) == sorted(SCRIPTS)
    fresh = {
        r["id"]: r["evidence"] for r in labeller(tmp_path / "b", script()).label(script_items())
    }
    assert {r["id"]: r["evidence"] for r in records} == fresh
    verifications = read_jsonl(tmp_path / "run" / "verifications.jsonl")
    assert len({(v["proof"], v["index"]) for v in verifications}) == len(verifications) == 12
    again = script()
    assert labeller(tmp_path, again, resume=True).label(script_items()) == records
    assert again.calls == []


# -- `prover label` on the tiny model ---------------------------------------------------


def proof_set(path: Path, n: int, extra: tuple[str, ...] = ()) -> Path:
    rows = [
        json.dumps({"problem": f"Show {i} >= 0.", "proof": f"{i} is a square."}) for i in range(n)
    ]
    path.write_text("\n".join([*rows, *extra]) + "\n")
    return path


def run_label(tiny_model: Path, *args) -> object:
    base = ["label", "--model", str(tiny_model), "-V", "2", "--max-tokens", "6", "-k", "1"]
    return CliRunner().invoke(main, [*base, *map(str, args)], catch_exceptions=False)


def test_label_command_end_to_end(tiny_model, tmp_path):
    data = proof_set(tmp_path / "set.jsonl", 3, ('{"problem": "x"}',))
    result = run_label(tiny_model, data)
    assert result.exit_code == 3, result.output  # a bad record was skipped
    assert "set.jsonl:4: missing field: proof" in result.output
    records = read_jsonl(tmp_path / "set.labels.jsonl")
    assert sorted(r["id"] for r in records) == ["set/1", "set/2", "set/3"]
    for r in records:
        assert {"id", "problem", "proof", "label", "status", "evidence"} <= set(r)
        assert r["status"] in ("labelled", "needs_human") and len(r["evidence"]["scores"]) == 2
        unread = r["evidence"]["unreadable"]
        assert bool(unread) == bool(r["evidence"]["unread_reasons"])
    summary = json.loads((tmp_path / "set.labels.summary.json").read_text())
    assert summary["proofs"] == 3 and summary["skipped"] == 1
    assert summary["labelled"] + summary["needs_human"] == 3
    assert "of 3 proofs labelled" in result.stdout
    run = json.loads((tmp_path / "set.labels.jsonl.run" / "run.json").read_text())
    assert run["verifications"] == 2 and run["meta_verifications"] == 3 and run["min_valid"] == 1


def test_label_resumes_a_cut_run(tiny_model, tmp_path):
    data = proof_set(tmp_path / "set.jsonl", 4)
    out = tmp_path / "o.jsonl"
    assert run_label(tiny_model, data, "--out", out, "--limit", "2").exit_code == 0
    first = read_jsonl(out)
    verified = tmp_path / "o.jsonl.run" / "verifications.jsonl"
    before = verified.read_text()
    # a kill mid-write: the last output line and the last verification torn in half
    text = out.read_text()
    out.write_text(text[: text.rindex("\n", 0, -1) + 1] + '{"id": "set/2", "la')
    lines = before.splitlines(keepends=True)
    verified.write_text("".join(lines[:-1]) + lines[-1][:10])
    result = run_label(tiny_model, data, "--out", out, "--resume")
    assert result.exit_code == 0, result.output
    records = read_jsonl(out)
    assert sorted(r["id"] for r in records) == [f"set/{i}" for i in range(1, 5)]
    assert records[0] == first[0]  # decided before the cut: kept, not redone
    keys = [(v["proof"], v["index"]) for v in read_jsonl(verified)]
    assert len(keys) == len(set(keys)) == 8
    assert verified.read_text().startswith("".join(lines[:-1]))  # finished work was kept
    settled = (out.read_text(), verified.read_text())
    assert run_label(tiny_model, data, "--out", out, "--resume").exit_code == 0
    assert (out.read_text(), verified.read_text()) == settled  # nothing recomputed


def test_label_refuses_changed_settings_and_existing_output(tiny_model, tmp_path):
    data = proof_set(tmp_path / "set.jsonl", 1)
    assert run_label(tiny_model, data).exit_code == 0
    again = run_label(tiny_model, data)
    assert again.exit_code == 2 and "--resume" in again.output
    changed = run_label(tiny_model, data, "--resume", "--meta-verifications", "5")
    assert changed.exit_code == 2 and "meta_verifications" in changed.output
    reseeded = run_label(tiny_model, data, "--resume", "--seed", "7")  # other analyses
    assert reseeded.exit_code == 2 and "seed" in reseeded.output
    many = run_label(tiny_model, data, data)
    assert many.exit_code == 2 and "--out" in many.output
    unreachable = run_label(tiny_model, data, "--out", tmp_path / "x.jsonl", "-k", "3")
    assert unreachable.exit_code == 2 and "k=3" in unreachable.output


def test_label_is_one_library_call(tiny_model, tmp_path):
    """What `prover label` runs, without the CLI: the output lands beside the one input file,
    and the counts come back and are written beside it."""
    from prover.backends.base import Sampling
    from prover.backends.build import BackendConfig
    from prover.batchverify import ProofSetRun
    from verifier_train.v2.labelrun import LabelRun, label_proof_sets

    data = proof_set(tmp_path / "set.jsonl", 2, ('{"problem": "x"}',))
    labels = LabelConfig(2, 1, 1, Sampling(max_tokens=6))
    run = LabelRun(ProofSetRun((data,)), BackendConfig(model=str(tiny_model)), labels)
    result = label_proof_sets(run)
    assert result.out == tmp_path / "set.labels.jsonl" and result.skipped == 1
    assert result.summary["proofs"] == 2 and result.summary["skipped"] == 1
    assert json.loads(result.summary_path.read_text()) == result.summary
    with pytest.raises(InputError, match="--resume"):
        label_proof_sets(run)
