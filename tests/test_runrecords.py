"""The typed run records: lines as earlier versions wrote them read back and write again as
the same bytes (old run directories resume), records sampled from completions, and the
in-memory records of a run directory."""

from __future__ import annotations

import json

import pytest

from prover.backends.base import Completion
from prover.jobs import Job, proof_record, verdict_record
from prover.rundir import RunDir
from prover.runrecords import (
    ProofRecord,
    RoundRecord,
    RunRecords,
    Verification,
    by_proof,
    usage,
)

# lines copied from run directories written before the records were typed
LINES = {
    "loop proof": (
        ProofRecord,
        '{"id": "1-r0-k0-0", "key": "1/r0/k0", "problem": "1", "round": 0, "parents": [], '
        '"usable": true, "solution": "draft-1", "self_evaluation": "\\\\boxed{0.5}", '
        '"self_score": 0.5, "reason": null, "text": "## Solution\\ndraft-1\\n## Self '
        'Evaluation\\n\\\\boxed{0.5}", "finish_reason": "stop", "prompt_tokens": 10, '
        '"completion_tokens": 5}',
    ),
    "loop verification": (
        Verification,
        '{"key": "1-r0-k0-0", "proof": "1-r0-k0-0", "problem": "1", "round": 0, "index": 0, '
        '"score": 0.0, "reason": null, "analysis": "issue in step 0 \\\\boxed{0}", '
        '"finish_reason": "stop", "prompt_tokens": 10, "completion_tokens": 5}',
    ),
    "loop meta": (
        Verification,
        '{"key": "1-r0-k0-0/v0", "proof": "1-r0-k0-0", "verification": 0, "problem": "1", '
        '"round": 0, "index": 0, "score": 0.5, "reason": null, "analysis": "x", '
        '"finish_reason": "stop", "prompt_tokens": 10, "completion_tokens": 5}',
    ),
    "scoring verification": (
        Verification,
        '{"key": "s/0", "proof": "s/0", "index": 0, "score": null, "reason": "no boxed score", '
        '"analysis": "checked", "finish_reason": "length", "prompt_tokens": 10, '
        '"completion_tokens": 3}',
    ),
    "round": (
        RoundRecord,
        '{"round": 0, "problems": {"1": {"proofs": 4, "passed": false, "best_proof": "1-r0-k0-1", '
        '"mean_score": 0.5}}, "stages": {"generate": {"samples": 8, "prompt_tokens": 80, '
        '"completion_tokens": 40, "prompts": 2, "seconds": 0.015}}}',
    ),
}


@pytest.mark.parametrize("kind, line", LINES.values(), ids=LINES)
def test_old_lines_round_trip_to_the_same_bytes(kind, line):
    record = kind.from_json(json.loads(line))
    assert json.dumps(record.to_json(), ensure_ascii=False) == line


def test_sampled_records_are_the_lines_the_builders_write():
    done = Completion("## Solution\nok\n## Self Evaluation\n\\boxed{1}", 7, 3, "stop")
    job = Job("1/r0/k0", [], 2, {"problem": "1", "round": 0, "parents": ["a"]})
    proof = ProofRecord.sampled(job, 1, done)
    assert proof.id == "1-r0-k0-1" and proof.usable and proof.parents == ("a",)
    assert proof_record(job, 1, done) == proof.to_json()
    assert list(proof.to_json())[:5] == ["id", "key", "problem", "round", "parents"]
    checked = Completion("fine \\boxed{0.5}", 5, 2, "stop")
    meta_job = Job("p/v0", [], 1, {"proof": "p", "verification": 0})
    meta = Verification.sampled(meta_job, 0, checked)
    assert meta.found_issues and meta.verification == 0 and meta.problem is None
    assert verdict_record(meta_job, 0, checked) == meta.to_json()
    assert "problem" not in meta.to_json() and Verification.of(meta.to_json()) == meta


def test_usage_counts_typed_records_and_lines_alike():
    records = [
        Verification(proof="p", index=0, score=1.0, finish_reason="stop", prompt_tokens=4,
                     completion_tokens=2),
        Verification(proof="p", index=1, score=None, finish_reason="prompt_too_long",
                     prompt_tokens=9, completion_tokens=0),
    ]  # fmt: skip
    expected = {"samples": 2, "prompt_tokens": 4, "completion_tokens": 2}
    assert usage(records) == usage([r.to_json() for r in records]) == expected
    assert [len(v) for v in by_proof(records).values()] == [2]


def test_run_records_are_read_once_and_kept_as_appended(tmp_path, monkeypatch):
    run = RunDir(tmp_path / "run", {})
    first = Verification(proof="p", index=0, score=1.0)
    RunRecords(run).append("verifications", [first])
    reads = []
    records = RunDir.records
    monkeypatch.setattr(
        RunDir, "records", lambda self, kind: reads.append(kind) or records(self, kind)
    )
    kept = RunRecords(run)
    assert kept.get("verifications") == [first]
    kept.append("verifications", [Verification(proof="p", index=1, score=0.0)])
    assert [v.index for v in kept.get("verifications")] == [0, 1] and reads == ["verifications"]
    on_disk = [Verification.from_json(r) for r in records(run, "verifications")]
    assert on_disk == kept.get("verifications")


def test_a_failed_append_is_not_kept(tmp_path, monkeypatch):
    kept = RunRecords(RunDir(tmp_path / "run", {}))

    def killed(self, kind, records):
        raise KeyboardInterrupt

    monkeypatch.setattr(RunDir, "append", killed)
    with pytest.raises(KeyboardInterrupt):
        kept.append("proofs", [ProofRecord(id="a", usable=False, solution="")])
    assert kept.get("proofs") == []
