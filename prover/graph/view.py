"""Reading the graph: verdicts summed per node, the networkx view, and the queries.

Verdicts add up as follows.
- A proof: its own verifications (readable scores, their mean, unreadable ones counted
  apart) and meta-verifications. It passes when its mean score is 1 (the loop's rule).
- A claim (step or lemma): the verifications of EVERY proof it appears in, summed (the
  verifier judges whole proofs, so each of them is evidence about each step), the number of
  those proofs that are verified, its standing `flag`s (issue-finding analyses that cite it by
  its label), its sympy status and its Lean status.
- A problem: the verifications of all its proofs; the number of them that are verified.
A proof is VERIFIED when it passes or Lean proved it; a problem when one of its proofs is. A
claim is verified when Lean proved it, or when it is in at least one verified proof, no
standing analysis flags it, its sympy check found no false equality and Lean did not fail on
it. So a claim from a passing proof that an analysis of some other proof blames is not
verified until that is settled (by Lean, or by the analysis being rejected).

Reuse (`prover solve --reuse`): for a problem, the verified claims of the proofs of the same
problem (equal after normalization) or of a similar one (Jaccard similarity >= 0.8 of the
normalized token sets), at least 20 characters long, strongest first (Lean-proved, lemmas,
more verified proofs, more samples), at most 5, each cut to 2,000 characters, appended to the
refinement prompt under a short header that still asks for a complete solution.

This module does not write to the store (`prover.graph.record`) and does not render
(`prover.cli.graph`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from prover.errors import InputError
from prover.graph.normalize import normalize, problem_id
from prover.graph.store import GraphStore, Node, NodeVerdict

CLAIM_KINDS = ("step", "lemma")


@dataclass
class Summary:
    """A node and its verdicts, summed (see the module docstring)."""

    node: Node
    scores: list[float] = field(default_factory=list)  # readable verifier scores
    unscored: int = 0  # verifications whose score could not be read
    meta: list[float] = field(default_factory=list)
    proofs: int = 0  # proofs it is in (claims), proofs of it (problems), 1 (proofs)
    passed: int = 0  # how many of those are verified (a proof: 1 when its mean score is 1)
    flags: int = 0  # standing issue analyses citing it
    sympy: str | None = None
    lean: str = "not_formalized"

    @property
    def mean(self) -> float | None:
        return sum(self.scores) / len(self.scores) if self.scores else None

    @property
    def meta_mean(self) -> float | None:
        return sum(self.meta) / len(self.meta) if self.meta else None

    @property
    def verified(self) -> bool:
        if self.lean == "proved":
            return True
        if self.node.kind in CLAIM_KINDS:
            return (
                self.passed > 0
                and self.flags == 0
                and self.sympy != "false"
                and self.lean != "failed"
            )
        return self.passed > 0

    def weakness(self) -> tuple:
        """Ascending sort key, weakest first: a false equality, a failed Lean check, more
        standing flags, unverified, a lower mean score, fewer samples."""
        mean = -1.0 if self.mean is None else self.mean
        return (
            self.sympy != "false",
            self.lean != "failed",
            -self.flags,
            self.verified,
            mean,
            len(self.scores),
        )

    def as_dict(self) -> dict:
        """Scalar fields (None left out): node attributes for GraphML and JSON."""
        values = {
            "samples": len(self.scores),
            "unscored": self.unscored,
            "mean_score": self.mean,
            "meta_samples": len(self.meta),
            "meta_mean": self.meta_mean,
            "proofs": self.proofs,
            "passed": self.passed,
            "flags": self.flags,
            "sympy": self.sympy,
            "lean": self.lean,
            "verified": self.verified,
        }
        return {k: v for k, v in values.items() if v is not None}


def _own(verdicts: list[NodeVerdict]) -> dict[str, dict[str, list[NodeVerdict]]]:
    """node -> kind -> its verdicts."""
    grouped: dict[str, dict[str, list[NodeVerdict]]] = defaultdict(lambda: defaultdict(list))
    for v in verdicts:
        grouped[v.node][v.kind].append(v)
    return grouped


def _fill_proof(summary: Summary, own: dict[str, list[NodeVerdict]]) -> None:
    verify = own.get("verify", [])
    summary.scores = [v.score for v in verify if v.score is not None]
    summary.unscored = sum(1 for v in verify if v.score is None)
    summary.meta = [v.score for v in own.get("meta", []) if v.score is not None]
    summary.proofs = 1
    summary.passed = int(summary.mean == 1.0)


def summaries(store: GraphStore, ids: list[str] | None = None) -> dict[str, Summary]:
    """{node id: Summary} for `ids` (every node when None)."""
    nodes = store.nodes(ids=ids)
    wanted = [n.id for n in nodes if n.kind != "proof"]
    links = store.edges(nodes=wanted if ids is not None else None)
    members: dict[str, set[str]] = defaultdict(set)  # claim/problem -> its proofs
    for e in links:
        if e.kind in ("has_step", "proves"):
            members[e.dst].add(e.src)
    proof_ids = {n.id for n in nodes if n.kind == "proof"} | {
        p for ps in members.values() for p in ps
    }
    everything = None if ids is None else [*proof_ids, *wanted]
    own = _own(store.verdicts(nodes=everything))
    given = {n.id: n for n in nodes}
    proofs = {pid: Summary(given.get(pid) or Node(pid, "proof", "")) for pid in proof_ids}
    for pid, summary in proofs.items():
        _fill_proof(summary, own.get(pid, {}))
        _fill_checks(summary, own.get(pid, {}))
    out = {}
    for node in nodes:
        if node.kind == "proof":
            out[node.id] = proofs[node.id]
            continue
        summary = Summary(node)
        in_proofs = [proofs[p] for p in members.get(node.id, ())]
        _fill_member(summary, in_proofs, own.get(node.id, {}))
        _fill_checks(summary, own.get(node.id, {}))
        out[node.id] = summary
    return out


def _fill_member(
    summary: Summary, proofs: list[Summary], own: dict[str, list[NodeVerdict]]
) -> None:
    """A claim or problem: the evidence of the proofs it is in (or that prove it)."""
    summary.scores = [s for p in proofs for s in p.scores]
    summary.unscored = sum(p.unscored for p in proofs)
    summary.meta = [s for p in proofs for s in p.meta]
    summary.proofs, summary.passed = len(proofs), sum(p.verified for p in proofs)
    summary.flags = sum(1 for v in own.get("flag", []) if v.status == "standing")


def _fill_checks(summary: Summary, own: dict[str, list[NodeVerdict]]) -> None:
    if own.get("sympy"):
        summary.sympy = own["sympy"][0].status
    if own.get("lean"):
        summary.lean = max(own["lean"], key=lambda v: v.created_at).status or "not_formalized"


# -- queries -----------------------------------------------------------------------------


def resolve(store: GraphStore, ref: str, kind: str | None = "proof") -> str:
    """A node id from what a user typed: an id, a run's own proof id (`1-r0-k0-0`) when only
    one proof has it, or a unique prefix of an id or of its hash part. `kind` is "proof",
    "problem", "claim" or None (any)."""
    ref = ref.strip()
    if not ref:
        raise InputError("give a node id")
    if store.nodes(ids=[ref]):
        return ref
    found = list({a.node for a in store.aliases(ref)}) if kind in ("proof", None) else []
    if not found:
        kinds = {"claim": CLAIM_KINDS, None: (None,)}.get(kind, (kind,))
        ids = [n.id for k in kinds for n in store.nodes(kind=k)]
        found = [i for i in ids if i.startswith(ref) or i.split(":", 1)[1].startswith(ref)]
    if len(found) == 1:
        return found[0]
    what = kind or "node"
    if not found:
        raise InputError(f"no {what} {ref!r} in the graph")
    raise InputError(f"{ref!r} names {len(found)} {what}s; give more of the id")


@dataclass(frozen=True)
class Step:
    position: int
    label: str
    summary: Summary


def proof_steps(store: GraphStore, proof: str) -> list[Step]:
    """The steps of a proof in order, with their summed verdicts."""
    edges = sorted(
        (e for e in store.edges("has_step", [proof]) if e.src == proof),
        key=lambda e: e.attrs.get("position", 0),
    )
    sums = summaries(store, [e.dst for e in edges])
    return [Step(e.attrs.get("position", 0), e.attrs.get("label", ""), sums[e.dst]) for e in edges]


def unverified_steps(store: GraphStore, proof: str) -> list[Step]:
    return [s for s in proof_steps(store, proof) if not s.summary.verified]


def weakest_step(store: GraphStore, proof: str) -> Step | None:
    steps = proof_steps(store, proof)
    return min(steps, key=lambda s: (s.summary.weakness(), s.position)) if steps else None


def strength(summary: Summary) -> tuple:
    """Descending sort key of verified claims: Lean-proved, lemmas, more passing proofs,
    more samples."""
    lemma = summary.node.kind == "lemma"
    return (summary.lean == "proved", lemma, summary.passed, len(summary.scores))


def matching_claims(
    store: GraphStore, text: str, verified_only: bool = True, limit: int | None = None
) -> list[Summary]:
    """Claims whose text holds every word of `text` (case-insensitive), the strongest first."""
    words = text.split()
    if not words:
        raise InputError("give some text to match")
    nodes = store.search(words, CLAIM_KINDS)
    sums = summaries(store, [n.id for n in nodes])
    found = [s for s in sums.values() if s.verified or not verified_only]
    found.sort(key=strength, reverse=True)
    return found[:limit] if limit else found


# -- reuse of verified claims in refinement prompts --------------------------------------

REUSE_HEADER = (
    "The following statements were verified in earlier proofs of this problem (or of a very "
    "similar one). You may use them; a complete solution must still justify every statement "
    "it relies on."
)
MAX_REUSE_CHARS = 2000  # per statement: a long lemma with its proof is cut


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+|[^\w\s]", normalize(text).lower()))


def similar_problems(store: GraphStore, text: str, threshold: float) -> list[str]:
    """The problem with this statement (after normalization) and those whose normalized
    word sets have Jaccard similarity >= threshold with it."""
    target, words = problem_id(text), _words(text)
    found = []
    for node in store.nodes(kind="problem"):
        other = _words(node.text)
        if node.id == target or len(words & other) >= threshold * len(words | other):
            found.append(node.id)
    return found


def reusable_claims(
    store: GraphStore, text: str, limit: int = 5, threshold: float = 0.8, min_chars: int = 20
) -> list[Summary]:
    """The verified claims of proofs of this (or a similar) problem, strongest first."""
    problems = similar_problems(store, text, threshold)
    proofs = {e.src for e in store.edges("proves", problems) if e.kind == "proves"}
    steps = {e.dst for e in store.edges("has_step", list(proofs)) if e.src in proofs}
    sums = summaries(store, list(steps))
    found = [s for s in sums.values() if s.verified and len(s.node.text) >= min_chars]
    return sorted(found, key=strength, reverse=True)[:limit]


def reuse_note(claims: list[Summary]) -> str:
    """The block appended to a refinement prompt ("" when there is nothing to reuse)."""
    if not claims:
        return ""
    blocks = [
        f"Verified statement {k}:\n{s.node.text[:MAX_REUSE_CHARS].strip()}"
        for k, s in enumerate(claims, 1)
    ]
    return "\n\n---\n\n" + REUSE_HEADER + "\n\n" + "\n\n".join(blocks)
