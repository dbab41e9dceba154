"""Where a toy verifier passes wrong proofs: its greedy false passes on held-out
generator-written proofs of exact label 0, sorted by the first slip in the analysis.

    python benchmarks/v2_false_passes.py --verifier DIR [--generator-proofs FILE] [--show 3]
    python benchmarks/v2_false_passes.py --verifier DIR --planted-typos 200
    python benchmarks/v2_false_passes.py --verifier DIR --misjudged FILE

A toy analysis line is `Step k: [NOTE: ]EXPECTED | COPY WORD` (`toyworld.analysis`): COPY is
the proof's line, copied up to the first character that differs from EXPECTED. An analysis
that scores a wrong proof 1 has written `ok` on every line, so on some step one of two things
went wrong:
- copy slip: COPY is not the proof's line (the model wrote what it expected, not what the
  proof says: the failure the issue's feasibility study saw most);
- comparison slip: COPY is the proof's line but differs from EXPECTED, and the word is `ok`.
Otherwise the slip is elsewhere (a wrong EXPECTED line, or the `Claim:` or `End:` line). The
proofs are `v2_label_temperature.py`'s (the card's held-out generator-written ones, minus the
verifier's training problems). With `--planted-typos N`, the proofs are N planted ones with
one typo each (the "one_typo" drill: one digit replaced or two swapped in one line, the rest
right) of problems the verifier did not train on. It also counts the false passes the
learning check's `--quote-check` would score 0 (`toyworld.analysis.quotes_faithfully`).

With `--misjudged FILE` (written by `v2_learning_check.py --misjudged`), the proofs are the
training proofs the generator's judge scored off their exact label in verifier-rewarded GRPO,
wrong proofs credited and correct ones failed alike. The judge is this greedy verifier, which
GRPO does not change, so verifying them again shows what it wrote: for each sort of misjudged
proof, the scores it gives now, whether their analyses quote the proof faithfully, and for
correct proofs failed, the line that raised the issue. The last line is one JSON object.

This script does not train anything or change the analyses.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import _v2_data as data  # noqa: E402
import _v2_scaled as scaled  # noqa: E402
import _v2_train as train  # noqa: E402
from v2_label_temperature import PROOFS, held_proofs  # noqa: E402
from v2_learning_check import Settings, given_verifier, init_worker  # noqa: E402

from verifier_train.v2.toyworld.analysis import quotes_faithfully, read_parts  # noqa: E402

if TYPE_CHECKING:
    from prover.backends.base import Backend

STEP = re.compile(r"Step (\d+): (.*)")
KINDS = ("copy slip", "comparison slip", "elsewhere")


def slip(proof: str, analysis: str) -> str:
    """The kind of the first slip on the analysis's `Step k:` lines (KINDS)."""
    lines = {f"Step {m[1]}": m[2].strip() for m in map(STEP.match, proof.splitlines()) if m}
    for part in read_parts(analysis):
        if not part.label.startswith("Step "):
            continue
        if part.copy != lines.get(part.label):
            return KINDS[0]
        if part.expected != part.copy:
            return KINDS[1]
    return KINDS[2]


def flagged(analysis: str) -> str:
    """Where an analysis first writes a word other than `ok`: "Step", "Claim", "End", or
    "nowhere" (a score with no issue named on a line)."""
    part = next((p for p in read_parts(analysis) if p.word != "ok"), None)
    return "nowhere" if part is None else part.label.split()[0]


def sort_of(score: float, judged: float | None) -> str:
    """A misjudged proof's sort, from its exact label and the judge's score."""
    if score == 0.0:
        return "wrong, passed" if judged == 1.0 else "wrong, half-credited"
    return "correct, scored below 1" if score == 1.0 else "half-right, misjudged"


def misjudged(path: Path, backend: Backend, tokens: int) -> None:
    """Verify a learning check's misjudged training proofs again; print what the verifier
    wrote, by sort of proof."""
    from verifier_train.v2.toy_verifier import read_proofs

    rows, bad = read_proofs(path, ("problem", "proof", "score", "judged"))
    if bad:
        print(f"{path}: skipped {len(bad)} unreadable lines (first: line {bad[0]})")
    proofs = [scaled.GeneratedProof(r["problem"], r["proof"], r["score"]) for r in rows]
    once = scaled.greedy(backend, data.load_templates(), proofs, tokens)
    table: dict[str, Counter] = {}
    for row, p, r in zip(rows, proofs, once, strict=True):
        quoted = quotes_faithfully(p.problem, p.solution, r["analysis"])
        cell = table.setdefault(sort_of(row["score"], row["judged"]), Counter())
        cell[f"now {r['score']}, {'quoted' if quoted else 'misquoted'}"] += 1
        if quoted and p.label == 1.0 and r["score"] != 1.0:
            cell[f"issue raised on: {flagged(r['analysis'])}"] += 1
    print(f"{len(rows)} training proofs the judge misjudged ({path}), verified again (greedy):")
    for sort, cell in sorted(table.items()):
        counts = ", ".join(f"{k} {n}" for k, n in sorted(cell.items()))
        proofs = sum(n for k, n in cell.items() if k.startswith("now "))
        print(f"  {sort} ({proofs} proofs): {counts}")
    print(json.dumps({sort: dict(cell) for sort, cell in table.items()}))


def planted_typos(n: int, seen: frozenset[str]) -> list[scaled.GeneratedProof]:
    """n planted proofs with one typo each, of problems not in `seen` (fixed seed)."""
    from verifier_train.v2.toy_verifier import ToyVerifierRecipe
    from verifier_train.v2.toyworld.data import labelled_proofs

    recipe = ToyVerifierRecipe  # the recipe's world: its defaults
    drawn = labelled_proofs(3 * n, 17, {"one_typo": 1.0}, recipe.families, recipe.max_chars)
    fresh = [p for p in drawn if p.problem.text not in seen][:n]
    return [scaled.GeneratedProof(p.problem.text, p.text, p.score) for p in fresh]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verifier", type=Path, required=True)
    parser.add_argument("--generator-proofs", type=Path, default=PROOFS)
    parser.add_argument("--show", type=int, default=3, help="false passes printed whole")
    parser.add_argument("--planted-typos", type=int, default=0, metavar="N",
                        help="N planted one-typo proofs in place of the generator's")  # fmt: skip
    parser.add_argument(
        "--misjudged",
        type=Path,
        metavar="FILE",
        help="a learning check's misjudged training proofs (its --misjudged)",
    )
    args = parser.parse_args()
    seen = given_verifier(args.verifier)
    if args.misjudged and not args.misjudged.is_file():
        parser.error(f"--misjudged {args.misjudged}: no such file")
    init_worker(1)
    if args.misjudged:
        return misjudged(args.misjudged, train.load(args.verifier), Settings().verification_tokens)
    if args.planted_typos:
        proofs, what = planted_typos(args.planted_typos, seen), "planted one-typo"
    else:
        proofs = [p for p in held_proofs(args.generator_proofs, seen, 10**9, 0) if p.label == 0]
        what = "held-out generator-written"
    backend, tokens = train.load(args.verifier), Settings().verification_tokens
    once = scaled.greedy(backend, data.load_templates(), proofs, tokens)
    passed = [(p, r["analysis"]) for p, r in zip(proofs, once, strict=True) if r["score"] == 1]
    found = [slip(p.solution, analysis) for p, analysis in passed]
    kinds = Counter(found)
    rejected = sum(not quotes_faithfully(p.problem, p.solution, a) for p, a in passed)
    for kind, (p, analysis) in list(zip(found, passed, strict=True))[: args.show]:
        print(f"--- {kind}: {p.problem}\n{p.solution}\n{analysis}")
    print(f"{len(proofs)} {what} proofs of label 0; scored 1 (greedy): "
          f"{len(passed)} ({len(passed) / max(len(proofs), 1):.1%})")  # fmt: skip
    for kind in KINDS:
        print(f"  {kind:<16} {kinds[kind]}")
    print(f"  of the {len(passed)}, the quote check (--quote-check) rejects {rejected}")
    counts = {"label_0": len(proofs), "passed": len(passed)}
    print(json.dumps(counts | {k: kinds[k] for k in KINDS} | {"quote_check_rejects": rejected}))


if __name__ == "__main__":
    main()
