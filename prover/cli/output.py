"""Rendering of solve and verify results for stdout: Markdown, LaTeX or JSON."""

from __future__ import annotations

import json

from prover.texinput import Problem


def _verdict_line(entry: dict) -> str:
    if entry.get("mean_score") is None:
        return "No verification of this proof could be parsed."
    status = "passed" if entry["passed"] else "not passed"
    return (
        f"Mean verifier score {entry['mean_score']:.3g} over {len(entry['scores'])} readable of "
        f"{entry['verifications']} verifications (round {entry['round']}); {status}."
    )


def markdown(problem: Problem, entry: dict) -> str:
    title = f"# Problem {problem.index}" + (f" ({problem.label})" if problem.label else "")
    if entry["best_proof"] is None:
        return f"{title}\n\n{problem.text}\n\nNo usable proof was produced.\n"
    return (
        f"{title}\n\n{problem.text}\n\n## Proof\n\n{entry['solution']}\n\n"
        f"---\n*{_verdict_line(entry)} Proof id: `{entry['best_proof']}`.*\n"
    )


def latex(problem: Problem, entry: dict) -> str:
    head = f"\\begin{{problem}}\n{problem.text}\n\\end{{problem}}\n"
    if entry["best_proof"] is None:
        return head + "% No usable proof was produced.\n"
    verdict = "% " + _verdict_line(entry)
    return f"{head}\\begin{{proof}}\n{entry['solution']}\n\\end{{proof}}\n{verdict}\n"


def render_solutions(problems: list[Problem], report: dict, fmt: str) -> str:
    entries = {e["problem"]: e for e in report["problems"]}
    if fmt == "json":
        items = [entries[str(p.index)] | {"statement": p.text} for p in problems]
        return json.dumps({"problems": items, "rounds": report["rounds"]}, indent=2)
    render = markdown if fmt == "md" else latex
    return "\n".join(render(p, entries[str(p.index)]) for p in problems)


def render_verification(result: dict, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(result, indent=2)
    mean = result["mean_score"]
    lines = [f"Mean score: {'unparseable' if mean is None else f'{mean:.3g}'}", ""]
    for i, v in enumerate(result["verifications"]):
        score = v["score"] if v["score"] is not None else f"none ({v['reason']})"
        lines += [f"## Verification {i + 1}: score {score}", "", v["analysis"] or "(empty)", ""]
    return "\n".join(lines)
