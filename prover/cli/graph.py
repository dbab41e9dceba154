"""`prover graph ...`: the proof graph of verified steps (see `prover.graph`).

Thin commands: they open the store named by `--db` (or $PROVER_GRAPH), call the library and
print. What `prover solve --graph` and `prover score --graph` do with the graph is
`prover.graph.hooks`. This module does not parse records or sum verdicts itself.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from pathlib import Path

import click

from prover.graph.hooks import added_line
from prover.graph.record import add_source, mark_lean, plan_prune, prune
from prover.graph.store import LEAN_STATUSES, GraphStore, open_store
from prover.graph.view import (
    CLAIM_KINDS,
    Step,
    Summary,
    matching_claims,
    proof_steps,
    resolve,
    summaries,
    unverified_steps,
    weakest_step,
)

OUTPUT = click.Choice(["text", "json"])


def db_option(create: bool = False):
    """`--db PATH` (or $PROVER_GRAPH); the command gets the opened store as `store`."""

    def decorate(command):
        @click.option(
            "--db",
            "db",
            envvar="PROVER_GRAPH",
            required=True,
            type=click.Path(dir_okay=False, path_type=Path),
            help="The graph store (an SQLite file); default: $PROVER_GRAPH.",
        )
        @functools.wraps(command)
        def wrapper(db: Path, **kwargs):
            store = open_store(db, create=create)
            try:
                return command(store=store, **kwargs)
            finally:
                store.close()

        return wrapper

    return decorate


def format_option(command):
    return click.option(
        "--format", "fmt", type=OUTPUT, default="text", show_default=True, help="Output format."
    )(command)


@click.group()
def graph() -> None:
    """The proof graph: proofs, their steps and every verdict on them, in one store."""


@graph.command()
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@db_option(create=True)
@click.option("--no-sympy", is_flag=True, help="Skip the sympy check of claims' equalities.")
@click.option(
    "--sympy-timeout",
    type=click.FloatRange(0, min_open=True),
    default=5.0,
    show_default=True,
    help="Seconds per equality checked.",
)
def add(store: GraphStore, sources: tuple[Path, ...], no_sympy: bool, sympy_timeout: float):
    """Add run directories (`prover solve --out`) or scoring outputs (`prover score --out`).
    Adding one again adds only what is new."""
    for source in sources:
        added = add_source(store, source, sympy=not no_sympy, timeout=sympy_timeout)
        click.echo(added_line(added))
        for reason in added.skipped:
            click.echo(f"skipped {reason}", err=True)


# -- stats -------------------------------------------------------------------------------


def graph_stats(store: GraphStore) -> dict:
    counts = store.counts()
    sums = summaries(store)
    by_kind = lambda kind: [s for s in sums.values() if s.node.kind in kind]  # noqa: E731
    return {
        "store": store.location,
        "nodes": counts["nodes"],
        "edges": counts["edges"],
        "verdicts": counts["verdicts"],
        "sources": sum(counts["sources"].values()),
        "problems_solved": sum(s.verified for s in by_kind(("problem",))),
        "proofs_passed": sum(s.verified for s in by_kind(("proof",))),
        "claims_verified": sum(s.verified for s in by_kind(CLAIM_KINDS)),
        "claims_in_several_proofs": sum(s.proofs > 1 for s in by_kind(CLAIM_KINDS)),
        "sympy": dict(Counter(s.sympy for s in by_kind(CLAIM_KINDS) if s.sympy)),
        "lean": dict(Counter(s.lean for s in sums.values())),
        "integrity": store.check(),
    }


@graph.command()
@db_option()
@format_option
def stats(store: GraphStore, fmt: str) -> None:
    """Counts of nodes, edges and verdicts, and how much is verified."""
    result = graph_stats(store)
    if fmt == "json":
        click.echo(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in sorted(value.items())) or "none"
        click.echo(f"{key.replace('_', ' ')}: {value}")


# -- queries -----------------------------------------------------------------------------


def verdict_text(s: Summary) -> str:
    """One line of summed verdicts."""
    parts = []
    if s.scores or s.unscored:
        mean = "-" if s.mean is None else f"{s.mean:.2f}"
        parts.append(
            f"verify {mean} x{len(s.scores)}" + (f" (+{s.unscored} unread)" if s.unscored else "")
        )
    if s.node.kind != "proof":
        parts.append(f"{s.passed}/{s.proofs} proofs passed")
    if s.meta:
        parts.append(f"meta {s.meta_mean:.2f} x{len(s.meta)}")
    if s.flags:
        parts.append(f"flagged x{s.flags}")
    if s.sympy:
        parts.append(f"sympy {s.sympy}")
    parts.append(f"lean {s.lean}")
    parts.append("VERIFIED" if s.verified else "unverified")
    return " | ".join(parts)


def summary_record(s: Summary, label: str | None = None) -> dict:
    record = {"id": s.node.id, "kind": s.node.kind, "text": s.node.text}
    if label is not None:
        record["label"] = label
    return record | s.as_dict()


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _print_summaries(rows: list[tuple[str | None, Summary]], fmt: str, width: int = 100) -> None:
    if fmt == "json":
        click.echo(json.dumps([summary_record(s, label) for label, s in rows], indent=2))
        return
    for label, s in rows:
        head = f"{label}  " if label is not None else ""
        click.echo(f"{head}{s.node.id}  [{verdict_text(s)}]")
        click.echo(f"    {_short(s.node.text, width)}")


@graph.group()
def query() -> None:
    """Find verified claims, or the unverified and weakest steps of a proof."""


@query.command("claims")
@click.argument("text")
@db_option()
@click.option("--all", "show_all", is_flag=True, help="Unverified claims too.")
@click.option("--limit", type=click.IntRange(1), default=20, show_default=True)
@format_option
def query_claims(store: GraphStore, text: str, show_all: bool, limit: int, fmt: str) -> None:
    """The verified claims whose text holds every word of TEXT, the strongest first."""
    found = matching_claims(store, text, verified_only=not show_all, limit=limit)
    _print_summaries([(None, s) for s in found], fmt)
    if not found and fmt == "text":
        click.echo("no matching claims", err=True)


def _step_rows(steps: list[Step]) -> list[tuple[str, Summary]]:
    return [(f"[{s.position}] {s.label}", s.summary) for s in steps]


@query.command("unverified")
@click.argument("proof")
@db_option()
@format_option
def query_unverified(store: GraphStore, proof: str, fmt: str) -> None:
    """The steps of PROOF (an id, id prefix or run proof id) that are not verified."""
    _print_summaries(_step_rows(unverified_steps(store, resolve(store, proof))), fmt)


@query.command("weakest")
@click.argument("proof")
@db_option()
@format_option
def query_weakest(store: GraphStore, proof: str, fmt: str) -> None:
    """The weakest step of PROOF: a false equality, a failed Lean check, the most flags,
    then the lowest mean score."""
    step = weakest_step(store, resolve(store, proof))
    _print_summaries(_step_rows([step] if step else []), fmt)


# -- show --------------------------------------------------------------------------------


@graph.command()
@click.argument("proof")
@db_option()
@click.option("--width", type=click.IntRange(20), default=120, show_default=True,
              help="Characters of each text shown.")  # fmt: skip
def show(store: GraphStore, proof: str, width: int) -> None:
    """PROOF as a tree: its problem, the proofs it refines, its steps with their verdicts and
    what each step depends on."""
    click.echo(render(proof_tree(store, resolve(store, proof), width)))


def render(renderable) -> str:
    """A rich renderable as plain text, as wide as the terminal."""
    import io
    import shutil

    from rich.console import Console

    console = Console(file=io.StringIO(), width=shutil.get_terminal_size((120, 24)).columns)
    console.print(renderable)
    return console.file.getvalue().rstrip("\n")


def proof_tree(store: GraphStore, proof: str, width: int):
    from rich.text import Text
    from rich.tree import Tree

    edges = store.edges(nodes=[proof])
    linked = [e.dst for e in edges if e.src == proof and e.kind in ("proves", "refines")]
    sums = summaries(store, [proof, *linked])
    root = sums[proof]
    tree = Tree(Text(f"{proof}  [{verdict_text(root)}]"))
    for e in edges:
        if e.src == proof and e.kind in ("proves", "refines"):
            other = sums[e.dst]
            line = f"{e.kind} {e.dst}  [{verdict_text(other)}]\n{_short(other.node.text, width)}"
            tree.add(Text(line))
    steps = proof_steps(store, proof)
    branch = tree.add(Text(f"steps ({len(steps)})"))
    labels = {s.summary.node.id: f"[{s.position}] {s.label}" for s in steps}
    cites = [e for e in store.edges("depends_on", list(labels)) if e.via == proof]
    for step in steps:
        cid = step.summary.node.id
        head = f"[{step.position}] {step.label}  [{verdict_text(step.summary)}]"
        node = branch.add(Text(f"{head}\n{_short(step.summary.node.text, width)}"))
        for e in cites:
            if e.src == cid:
                node.add(Text(f"depends on {labels.get(e.dst, e.dst)}"))
    return tree


# -- export, prune, mark -----------------------------------------------------------------


@graph.command("export")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@db_option()
@click.option("--format", "fmt", type=click.Choice(["graphml", "json"]), default=None,
              help="Default: from OUT's suffix (.graphml or .json).")  # fmt: skip
def export_command(store: GraphStore, out: Path, fmt: str | None) -> None:
    """Write the graph to OUT as GraphML (Gephi, networkx) or node-link JSON (networkx)."""
    from prover.graph.export import export

    nodes, edges = export(store, out, fmt)
    click.echo(f"wrote {out}: {nodes} nodes, {edges} edges")


@graph.command("prune")
@db_option()
@click.option("--older-than", type=click.FloatRange(0), default=0.0, show_default=True,
              help="Only proofs stored at least this many days ago.")  # fmt: skip
@click.option("--unverified", is_flag=True,
              help="Also proofs that did not pass (not only those with no verdicts).")  # fmt: skip
@click.option("--dry-run", is_flag=True, help="Say what would go; remove nothing.")
def prune_command(store: GraphStore, older_than: float, unverified: bool, dry_run: bool) -> None:
    """Remove proofs with no verdicts (or, with --unverified, every proof that did not pass),
    then the claims and problems no remaining proof holds. Verified proofs always stay."""
    plan = plan_prune(store, older_than * 86400, unverified)
    counts = f"{len(plan.proofs)} proofs, {len(plan.claims)} claims, {len(plan.problems)} problems"
    if dry_run:
        click.echo(f"would remove {counts}")
        return
    prune(store, plan)
    click.echo(f"removed {counts}")


@graph.command("mark")
@click.argument("node")
@db_option()
@click.option("--lean", "status", type=click.Choice(LEAN_STATUSES), required=True,
              help="The Lean status of NODE.")  # fmt: skip
@click.option("--detail", default="", help="A note kept with the verdict (e.g. the error).")
def mark_command(store: GraphStore, node: str, status: str, detail: str) -> None:
    """Record the Lean status of NODE (a claim, proof or problem id, or an id prefix)."""
    target = resolve(store, node, kind=None)
    mark_lean(store, target, status, detail)
    click.echo(f"{target}: lean {status}")
