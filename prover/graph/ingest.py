"""Turn the records of a `prover solve` run directory or a `prover score` output into one
graph batch.

Sources:
- a solve run directory (`run.json` with `problems`): `proofs.jsonl` (usable proofs, their
  round and refinement parents), `verifications.jsonl`, `meta.jsonl`;
- a scoring output `FILE.jsonl`, or its run directory `FILE.jsonl.run/` (`run.json` with
  `files`): the proofs are read again from the input files `run.json` names (the output
  lines do not hold the texts), the verdicts from the run directory.

What a batch holds for each usable proof: the problem and proof nodes (`proves`), the
proof's claims (`has_step`, with their positions) and the citations between them
(`depends_on`, tagged with the proof they were read from), `refines` to its parents, one
`verify` verdict per verification and one `meta` verdict per meta-verification, and a `flag`
on each claim an issue-finding analysis cites (`standing`, or `rejected` when its
meta-verifications rate the analysis below 0.5). Verdict keys are the source path plus the
record's own key, so adding a source again (after `--resume`) adds only new evidence.

This module does not write to the store (the caller does, in one transaction) and does not
run the sympy checks (`prover.graph.sympycheck`), though it says which claims need one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from prover.errors import InputError
from prover.graph.claims import Claim, cited_claims, dependencies, split_claims
from prover.graph.normalize import claim_id, normalize, problem_id, proof_id
from prover.graph.store import LEAN_STATUSES, Alias, Batch, Edge, Node, NodeVerdict, Source
from prover.rundir import RUN_FILE, read_jsonl
from prover.runrecords import META, PROOFS, VERIFICATIONS, ProofRecord, Verification

PROOF_FIELDS = ("id", "problem", "usable", "solution")
VERDICT_FIELDS = ("proof", "index", "score")


@dataclass(frozen=True)
class ProofIn:
    """One proof as a source holds it."""

    local_id: str
    problem: str  # the statement
    solution: str
    parents: tuple[str, ...] = ()
    attrs: dict = field(default_factory=dict)


@dataclass
class RunIn:
    """Everything a source holds, with its provenance."""

    path: str  # resolved; part of every verdict key
    kind: str  # "solve" or "score"
    fingerprint: dict
    model: str | None  # the generator (None for scored proof sets: unknown)
    verifier: str | None
    prompt_version: str | None
    proofs: list[ProofIn] = field(default_factory=list)
    verifications: list[Verification] = field(default_factory=list)
    meta: list[Verification] = field(default_factory=list)
    lean: list[dict] = field(default_factory=list)  # `--lean` cross-checks (lean.jsonl)
    skipped: list[str] = field(default_factory=list)  # bad records, reported by the caller


def read_source(path: str | Path) -> RunIn:
    """A solve run directory, a scoring output file, or a scoring run directory."""
    path = Path(path)
    if path.is_file():
        return _score_source(path, path.with_name(path.name + ".run"))
    fingerprint = _fingerprint(path)
    if "problems" in fingerprint:
        return _solve_source(path, fingerprint)
    if "files" in fingerprint:
        return _score_source(path.with_name(path.name.removesuffix(".run")), path)
    raise InputError(f"{path / RUN_FILE} is neither a solve run nor a scoring run")


def _fingerprint(run_dir: Path) -> dict:
    run_file = run_dir / RUN_FILE
    if not run_file.is_file():
        raise InputError(f"{run_dir} is not a run directory or scoring output (no {RUN_FILE})")
    try:
        fingerprint = json.loads(run_file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{run_file} is not valid JSON") from exc
    if not isinstance(fingerprint, dict):
        raise InputError(f"{run_file} is not a JSON object")
    return fingerprint


def _checked(records: list, fields: tuple[str, ...], where: Path, skipped: list[str]) -> list:
    """The records that have every field; the others are reported and skipped."""
    good = []
    for number, record in enumerate(records, 1):
        missing = [f for f in fields if not isinstance(record, dict) or f not in record]
        if missing:
            skipped.append(f"{where} record {number}: missing {', '.join(missing)}")
        else:
            good.append(record)
    return good


def _problem_texts(run_dir: Path, fingerprint: dict, proofs: list[ProofRecord]) -> dict[str, str]:
    """Problem id -> statement. Ids are 1-based positions in the problem file; `run.json`
    lists the statements of the problems the run was given, in order (one, with --problem),
    and `report.json` (once written) lists their ids in the same order."""
    texts = [str(t) for t in fingerprint.get("problems", [])]
    report = run_dir / "report.json"
    entries = json.loads(report.read_text(encoding="utf-8")) if report.is_file() else {}
    ids = [str(e.get("problem")) for e in entries.get("problems", [])]
    if len(ids) == len(texts):
        return dict(zip(ids, texts, strict=True))
    if len(texts) == 1:
        return {str(p.problem): texts[0] for p in proofs}
    return {str(k): text for k, text in enumerate(texts, 1)}


def _solve_source(run_dir: Path, fingerprint: dict) -> RunIn:
    model = fingerprint.get("model")
    run = RunIn(
        str(run_dir.resolve()),
        "solve",
        fingerprint,
        model,
        fingerprint.get("verifier_model") or model,
        fingerprint.get("templates"),
    )
    lines = read_jsonl(run_dir / f"{PROOFS}.jsonl")
    proofs = [ProofRecord.from_json(p) for p in _checked(lines, PROOF_FIELDS, run_dir, run.skipped)]
    statements = _problem_texts(run_dir, fingerprint, proofs)
    for p in proofs:
        if not p.usable:
            continue
        if str(p.problem) not in statements:
            run.skipped.append(f"{run_dir}: proof {p.id} is for unknown problem {p.problem}")
            continue
        attrs = {"round": p.round, "self_score": p.self_score, "run_id": p.id}
        attrs["problem_label"] = str(p.problem)
        parents = p.parents or ()
        run.proofs.append(ProofIn(p.id, statements[str(p.problem)], p.solution, parents, attrs))
    _read_verdicts(run, run_dir)
    return run


def _read_verdicts(run: RunIn, run_dir: Path) -> None:
    for kind in (VERIFICATIONS, META):
        lines = read_jsonl(run_dir / f"{kind}.jsonl")
        needed = VERDICT_FIELDS + (("verification",) if kind == META else ())
        checked = _checked(lines, needed, run_dir, run.skipped)
        getattr(run, kind).extend(Verification.from_json(r) for r in checked)
    lean = read_jsonl(run_dir / "lean.jsonl")
    run.lean.extend(_checked(lean, ("proof", "status"), run_dir, run.skipped))


def _score_source(out: Path, run_dir: Path) -> RunIn:
    """A scored proof set: the texts come from the input files the run names."""
    from prover.proofsets import parse_map, read_proofs

    fingerprint = _fingerprint(run_dir)
    files = [Path(f) for f in fingerprint.get("files", [])]
    gone = [str(f) for f in files if not f.is_file()]
    if gone:
        raise InputError(f"cannot add {out}: its input file {gone[0]} is gone")
    items, _ = read_proofs(
        files, parse_map(fingerprint.get("mapping") or []), fingerprint.get("scale")
    )
    run = RunIn(
        str(out.resolve()),
        "score",
        fingerprint,
        None,
        fingerprint.get("model"),
        fingerprint.get("templates"),
    )
    _read_verdicts(run, run_dir)
    verified = {v.proof for v in run.verifications}
    for item in items:
        if item.id in verified:  # proofs the run has not reached yet are not added
            attrs = {"run_id": item.id, "source": item.source, "human": item.normalized}
            attrs |= {"problem_label": item.problem_id, "file": item.file, "line": item.line}
            run.proofs.append(ProofIn(item.id, item.problem, item.proof, (), attrs))
    return run


# -- records -> batch --------------------------------------------------------------------


def build_batch(run: RunIn) -> tuple[Batch, dict[str, str]]:
    """The batch of a source, and {claim id: text} of its claims (for the sympy check)."""
    batch = Batch(sources=[Source(run.path, run.kind, run.fingerprint)])
    ids = {p.local_id: proof_id(p.problem, p.solution) for p in run.proofs}
    claims: dict[str, list[Claim]] = {}
    for proof in run.proofs:
        claims[proof.local_id] = _add_proof(batch, run, proof, ids)
    _add_verdicts(batch, run, ids, claims)
    texts = {n.id: n.text for n in batch.nodes if n.kind in ("step", "lemma")}
    return batch, texts


def _provenance(run: RunIn) -> dict:
    return {"model": run.model, "prompt_version": run.prompt_version, "source": run.path}


def _add_proof(batch: Batch, run: RunIn, proof: ProofIn, ids: dict[str, str]) -> list[Claim]:
    pid, problem = ids[proof.local_id], problem_id(proof.problem)
    label = proof.attrs.get("problem_label")
    batch.nodes.append(
        Node(problem, "problem", proof.problem, normalize(proof.problem), source=run.path,
             attrs={"label": label})
    )  # fmt: skip
    attrs = {k: v for k, v in proof.attrs.items() if v is not None}
    batch.nodes.append(Node(pid, "proof", proof.solution, **_provenance(run), attrs=attrs))
    batch.edges.append(Edge(pid, problem, "proves"))
    batch.aliases.append(Alias(proof.local_id, run.path, pid))
    for parent in proof.parents:
        if parent in ids and ids[parent] != pid:  # an unusable parent is not in the graph
            batch.edges.append(Edge(pid, ids[parent], "refines"))
    claims = split_claims(proof.solution)
    cids = [claim_id(c.text) for c in claims]
    for claim, cid in zip(claims, cids, strict=True):
        node_attrs = {"label": claim.label}
        batch.nodes.append(
            Node(cid, claim.kind, claim.text, normalize(claim.text), **_provenance(run),
                 attrs=node_attrs)
        )  # fmt: skip
        position = {"position": claim.position, "label": claim.label}
        batch.edges.append(Edge(pid, cid, "has_step", attrs=position))
    for i, j in dependencies(claims):
        if cids[i] != cids[j]:
            batch.edges.append(Edge(cids[i], cids[j], "depends_on", via=pid))
    return claims


def _meta_scores(run: RunIn) -> dict[tuple[str, int], list[float]]:
    scores: dict[tuple[str, int], list[float]] = {}
    for m in run.meta:
        if m.score is not None:
            scores.setdefault((m.proof, m.verification), []).append(m.score)
    return scores


def _add_verdicts(
    batch: Batch, run: RunIn, ids: dict[str, str], claims: dict[str, list[Claim]]
) -> None:
    meta = _meta_scores(run)
    common = {"model": run.verifier, "prompt_version": run.prompt_version}
    for v in run.verifications:
        if v.proof not in ids:
            continue
        key = f"{run.path}#{v.proof}/v{v.index}"
        pid, analysis = ids[v.proof], v.analysis or ""
        detail = {"analysis": analysis, "run_id": v.proof}
        batch.verdicts.append(
            NodeVerdict(pid, "verify", key, v.score, v.reason, **common, detail=detail)
        )
        if v.found_issues:
            rated = meta.get((v.proof, v.index), [])
            status = "rejected" if rated and sum(rated) / len(rated) < 0.5 else "standing"
            _add_flags(batch, claims[v.proof], key, v.score, status, analysis, common)
    for r in run.lean:
        if r["proof"] in ids and r["status"] in LEAN_STATUSES:
            score = {"proved": 1.0, "failed": 0.0}.get(r["status"])
            detail = {"detail": lean_detail(r)}
            key = f"{run.path}#{r['proof']}/lean"
            model = run.model or run.verifier
            status = r["status"]
            batch.verdicts.append(
                NodeVerdict(ids[r["proof"]], "lean", key, score, status, model, detail=detail)
            )
    for m in run.meta:
        if m.proof in ids:
            key = f"{run.path}#{m.proof}/v{m.verification}/m{m.index}"
            detail = {"verification": m.verification, "analysis": m.analysis or ""}
            batch.verdicts.append(
                NodeVerdict(ids[m.proof], "meta", key, m.score, m.reason, **common, detail=detail)
            )


def lean_detail(record: dict) -> str:
    """One line about a `--lean` record (lean.jsonl): the stage it stopped at and why."""
    errors = [m["data"] for m in record.get("messages", []) if m.get("severity") == "error"]
    why = record.get("note") or record.get("reason") or (errors[0] if errors else "")
    line = f"{record.get('stage', 'lean')} stage" + (f": {why}" if why else "")
    return " ".join(line.split())[:300]


def _add_flags(
    batch: Batch,
    claims: list[Claim],
    key: str,
    score: float,
    status: str,
    analysis: str,
    common: dict,
) -> None:
    """A `flag` on each claim an issue-finding analysis cites by its label."""
    for index in cited_claims(claims, analysis):
        cid = claim_id(claims[index].text)
        detail = {"label": claims[index].label}
        batch.verdicts.append(NodeVerdict(cid, "flag", key, score, status, **common, detail=detail))


def sympy_verdicts(results: dict[str, tuple[str, list]], model: str = "sympy") -> list[NodeVerdict]:
    return [
        NodeVerdict(cid, "sympy", "sympy", None, status, model, detail={"equalities": found})
        for cid, (status, found) in results.items()
    ]
