"""`--lean` on `prover solve` and `prover score`: the formal verdict beside the informal one.

What this module does, for both commands:
- `LeanSetup`: what a run needs to cross-check (the REPL processes, which start no process
  until the first check, the templates, the attempts); `setup_lean` builds it from the
  `--lean` options (`LeanOptions`) before any model is loaded;
- `check_proofs`: `cross_check` of each proof (the model formalizes the problem, then writes
  formal proofs guided by the informal one), one `lean.jsonl` record per proof in the run
  directory as it finishes, so a resumed run does not check a proof twice;
- `lean_status` (the graph's statuses: proved, failed, timeout, not_formalized),
  `disagreement` with the informal verdict, and the printed summaries (the
  graph reads a run's lean.jsonl itself).

It does NOT formalize or check anything itself (`prover.lean.formalize`, `prover.lean.repl`),
score proofs informally, decide whether a formal statement is faithful to the problem, or
parse command-line options (`prover.cli.lean`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from prover.backends import Backend, Sampling
from prover.errors import InputError
from prover.graph.ingest import lean_detail
from prover.graph.store import LEAN_STATUSES
from prover.lean.formalize import CrossCheck, LeanTemplates, cross_check
from prover.lean.outcomes import Proved, Timeout
from prover.lean.repl import ReplOptions, ReplProcesses, repl_processes
from prover.progress import Reporter
from prover.rundir import RunDir

LEAN_KIND = "lean"  # lean.jsonl in the run directory


@dataclass(frozen=True)
class LeanSetup:
    """What `--lean` needs once the informal run is done. `repls` holds no process yet."""

    repls: ReplProcesses
    templates: LeanTemplates
    attempts: int


@dataclass(frozen=True)
class LeanOptions:
    """`--lean` and its settings on solve and score; not `enabled`: no cross-check."""

    enabled: bool = False
    repl: ReplOptions = field(default_factory=ReplOptions)  # project, command and timeout
    attempts: int = 1


def setup_lean(options: LeanOptions, template_dir: str | None = None) -> LeanSetup | None:
    """None without `--lean`. Call it before loading a model: a missing toolchain, a REPL
    command that is not there or a bad template fails here, with one line (exit 2)."""
    if not options.enabled:
        given = (("--lean-repl-command", options.repl.repl_command),
                 ("--lean-project", options.repl.project))  # fmt: skip
        for name, value in given:
            if value is not None:
                raise InputError(f"{name} needs --lean")
        return None
    # One process: proofs are checked one after another (the model writes them in turn), and
    # each extra process would import Mathlib again.
    repls = repl_processes(replace(options.repl, workers=1))
    templates = LeanTemplates.load(template_dir)
    return LeanSetup(repls, templates, options.attempts)


@dataclass(frozen=True)
class Target:
    """One proof to cross-check: its id in the run, its problem and its informal text."""

    proof: str
    problem: str
    solution: str


def lean_status(result: CrossCheck) -> str:
    """The graph's Lean status of a chain's result. A statement that does not elaborate is
    `not_formalized`; a crashed REPL counts as `failed` (the record keeps the reason)."""
    if isinstance(result.verdict, Proved):
        return "proved"
    if isinstance(result.verdict, Timeout):
        return "timeout"
    if result.stage != "proof":
        return "not_formalized"
    return "failed"


def lean_record(target: Target, result: CrossCheck) -> dict:
    """A `lean.jsonl` line: the proof id, the status and the chain's own record."""
    return {"proof": target.proof, "status": lean_status(result), **result.to_record()}


def check_proofs(
    setup: LeanSetup,
    targets: Sequence[Target],
    backend: Backend,
    sampling: Sampling,
    run: RunDir,
    reporter: Reporter,
) -> dict[str, dict]:
    """{proof id: Lean record} for every target; proofs the run already checked (a resumed
    run) are not checked again. Closes the REPL processes when done."""
    done = {r["proof"]: r for r in run.records(LEAN_KIND)}
    todo = [t for t in targets if t.proof not in done]
    with setup.repls, reporter.stage("lean", len(todo)) as progress:
        for count, target in enumerate(todo, 1):
            result = cross_check(
                target.problem,
                target.solution,
                backend,
                setup.repls,
                templates=setup.templates,
                sampling=sampling,
                attempts=setup.attempts,
            )
            record = lean_record(target, result)
            run.append(LEAN_KIND, [record])
            done[target.proof] = record
            progress(count, len(todo))
    reporter.log(f"lean: {len(todo)} proofs checked, {len(targets) - len(todo)} from the run")
    return {t.proof: done[t.proof] for t in targets}


def disagreement(informal_passed: bool, status: str) -> str | None:
    """Why the formal verdict and the informal one disagree, or None when they agree. A proof
    the verifier passes but Lean does not prove (for whatever reason) is flagged, and so is
    one that Lean proves but the verifier does not pass."""
    if informal_passed and status != "proved":
        return f"informal passed, Lean {status.replace('_', ' ')}"
    if not informal_passed and status == "proved":
        return "Lean proved, informal did not pass"
    return None


# -- solve -------------------------------------------------------------------------------


def solve_targets(report: dict, problems: dict[str, str]) -> list[Target]:
    """The best proof of each problem that has one."""
    return [
        Target(e["best_proof"], problems[e["problem"]], e["solution"])
        for e in report["problems"]
        if e["best_proof"] is not None
    ]


def attach_to_report(report: dict, records: dict[str, dict]) -> None:
    """Give each problem's entry its best proof's `lean` record and `disagreement` (the
    informal verdict of a best proof: mean score 1)."""
    for entry in report["problems"]:
        record = records.get(entry["best_proof"])
        if record is not None:
            passed = entry["mean_score"] is not None and entry["mean_score"] >= 1.0
            entry["lean"] = record
            entry["disagreement"] = disagreement(passed, record["status"])


def solve_summary(report: dict, fmt: str) -> str:
    """The informal and formal verdicts side by side, `!` marking a disagreement: a Markdown
    table, or LaTeX comments. (JSON output carries the same fields in each problem.)"""
    rows = ["| | problem | informal | Lean | detail |", "|---|---|---|---|---|"]
    for entry in report["problems"]:
        if "lean" not in entry:
            continue
        mark = "!" if entry["disagreement"] else ""
        mean = "-" if entry["mean_score"] is None else f"{entry['mean_score']:.3g}"
        why = entry["disagreement"] or lean_detail(entry["lean"])
        rows.append(f"| {mark} | {entry['problem']} | {mean} | {entry['lean']['status']} | {why} |")
    if fmt == "tex":
        return "\n".join("% " + row for row in ["Lean cross-check", *rows]) + "\n"
    return "## Lean cross-check\n\n" + "\n".join(rows) + "\n"


# -- score -------------------------------------------------------------------------------


def score_targets(items: Sequence, records: Sequence[dict]) -> list[Target]:
    """The scored proofs (`ProofItem`s whose output line exists)."""
    scored = {r["id"] for r in records}
    return [Target(i.id, i.problem, i.proof) for i in items if i.id in scored]


def attach_to_scores(records: list[dict], lean: dict[str, dict], threshold: float) -> dict:
    """Give each score record its `lean` record and `disagreement` (informal: mean score >=
    threshold); the counts for `summary.json`."""
    statuses: Counter[str] = Counter()
    disagreeing = []
    for record in records:
        found = lean.get(record["id"])
        if found is None:
            continue
        mean = record["mean_score"]
        passed = mean is not None and mean >= threshold
        record |= {"lean": found, "disagreement": disagreement(passed, found["status"])}
        statuses[found["status"]] += 1
        if record["disagreement"]:
            disagreeing.append({"id": record["id"], "why": record["disagreement"]})
    return {
        "statuses": {s: statuses[s] for s in LEAN_STATUSES},
        "threshold": threshold,
        "disagreements": len(disagreeing),
        "disagreeing": disagreeing,
    }


def score_summary(summary: dict) -> str:
    """Counts of the formal verdicts, then one `!` line per disagreement."""
    counts = ", ".join(f"{s.replace('_', ' ')} {n}" for s, n in summary["statuses"].items())
    lines = [
        f"Lean: {counts}; {summary['disagreements']} disagreement(s) with the verifier "
        f"(pass at mean score >= {summary['threshold']:g})"
    ]
    lines += [f"! {d['id']}: {d['why']}" for d in summary["disagreeing"]]
    return "\n".join(lines)
