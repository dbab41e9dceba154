"""The networkx view of the store, and its export to GraphML or JSON (node-link) for Gephi,
networkx and other tools.

The view is a `networkx.DiGraph`: node attributes are the node's kind, text, label and
provenance plus its summed verdicts (`prover.graph.view.Summary.as_dict`); edge attributes
are the kind and, for `depends_on`, in how many proofs the citation was read (`proofs`).
Between two nodes there is at most one kind of edge (proof->problem, proof->claim,
claim->claim, proof->proof), so a simple digraph loses nothing. Attributes that are unset are
left out (GraphML has no null).

This module does not write to the store.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

from prover.errors import InputError
from prover.graph.store import GraphStore
from prover.graph.view import summaries

FORMATS = ("graphml", "json")
XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def to_networkx(store: GraphStore):
    """The whole store as a networkx DiGraph."""
    import networkx as nx

    graph = nx.DiGraph()
    for node_id, summary in summaries(store).items():
        node = summary.node
        attrs = {
            "kind": node.kind,
            "text": node.text,
            "label": str(node.attrs.get("label") or ""),
            "model": node.model,
            "prompt_version": node.prompt_version,
            "created_at": node.created_at,
            "source": node.source,
            **summary.as_dict(),
        }
        graph.add_node(node_id, **{k: v for k, v in attrs.items() if v is not None})
    cited = Counter((e.src, e.dst) for e in store.edges("depends_on"))
    for edge in store.edges():
        attrs = {"kind": edge.kind}
        if edge.kind == "depends_on":
            attrs["proofs"] = cited[(edge.src, edge.dst)]
        if "position" in edge.attrs:
            attrs["position"] = edge.attrs["position"]
        graph.add_edge(edge.src, edge.dst, **attrs)
    return graph


def export_format(path: Path, fmt: str | None) -> str:
    """The format asked for, or the one the file name says."""
    if fmt:
        return fmt
    suffix = path.suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    raise InputError(f"cannot tell the format of {path}; use --format {' or '.join(FORMATS)}")


def export(store: GraphStore, path: Path, fmt: str | None = None) -> tuple[int, int]:
    """Write the graph to `path`; returns (nodes, edges)."""
    import networkx as nx

    fmt = export_format(path, fmt)
    graph = to_networkx(store)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "graphml":
        nx.write_graphml(_xml_safe(graph), path)
    else:
        data = nx.node_link_data(graph, edges="edges")
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return graph.number_of_nodes(), graph.number_of_edges()


def _xml_safe(graph):
    """XML 1.0 cannot hold most control characters, which model text sometimes has."""
    for _, attrs in graph.nodes(data=True):
        for key, value in attrs.items():
            if isinstance(value, str):
                attrs[key] = XML_INVALID.sub("\ufffd", value)
    return graph


def read_export(path: Path):
    """A graph written by `export`, read back with networkx."""
    import networkx as nx

    if export_format(path, None) == "graphml":
        return nx.read_graphml(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    return nx.node_link_graph(data, directed=True, multigraph=False, edges="edges")
