"""Two toy verifiers scored greedily on the same held-out proofs, which neither trained on.

    python benchmarks/toy_verifier_compare.py --peer DIR --verifier DIR
                                              [--proofs FILE] [--held-out 200]
                                              [--tokens 448]

Each DIR holds a verifier and its `training_problems.json`: a `v2_verifier_curve.py --save`,
or the `final/` of `prover iterate verifier_train/recipes/toy-verifier.yaml`. The held-out
sets are `toy_verifier.heldout`'s (the recipe's own measurement): `--held-out` planted linear
proofs of the held-out kinds, and every generator-written proof of 3/4 as many of the proofs
file's problems, minus every problem either verifier trained on. That leaves almost only
problems of the learning check's held-out pools, which no recipe trains on. Small-coefficient
problems (`5*x = 5`) fall into those pools most often, and the file holds 8 proofs of each (both
of its generators drew them), so the set is not the file's mix: its problems and labels are
printed. Both are measured with 448 new tokens (`--tokens`), one after the other, on one torch
thread. The last line is the ratio of the verifier's accuracy to the peer's on each set.

This script does not train anything.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import _v2_train as train  # noqa: E402
from v2_learning_check import given_verifier, init_worker  # noqa: E402

from verifier_train.v2 import toy_verifier  # noqa: E402
from verifier_train.v2.toyworld.rows import World, toy_templates  # noqa: E402

SHIPPED = Path(__file__).parents[1] / "datasets/toy/generator-proofs.jsonl.gz"
KINDS = ("correct", "wrong_step", "skipped_step", "false_final")
LABELS = ("label 0", "label 0.5", "label 1")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--peer", type=Path, required=True)
    parser.add_argument("--verifier", type=Path, required=True)
    parser.add_argument("--proofs", type=Path, default=SHIPPED, help="generator-written proofs")
    parser.add_argument("--held-out", type=int, default=200, help="planted held-out proofs")
    parser.add_argument("--tokens", type=int, default=toy_verifier.TOKENS, help="new tokens")
    args = parser.parse_args()
    if not args.proofs.is_file():
        parser.error(f"--proofs {args.proofs}: no such file")
    return args


def _cells(shares: dict[str, float], keys: tuple[str, ...]) -> str:
    return "  ".join(f"{shares[k]:>7.1%}" if k in shares else f"{'-':>7}" for k in keys)


def main() -> None:
    args = parse_args()
    seen = given_verifier(args.peer, "--peer") | given_verifier(args.verifier, "--verifier")
    init_worker(1)
    generated, bad = toy_verifier.read_proofs(args.proofs)
    if bad:
        print(f"{args.proofs}: skipped {len(bad)} unreadable lines (first: line {bad[0]})")
    world, templates = World(("linear",)), toy_templates()
    held = toy_verifier.heldout(world, generated, args.held_out, 3 * args.held_out // 4, seen)
    print(f"held out: {len(held.proofs)} planted proofs, {len(held.generated)} generator-written "
          f"proofs; {len(seen)} problems trained on by either verifier left out")  # fmt: skip
    labels = Counter(r["kind"] for r in held.generated)
    print(f"generator-written: {len({r['problem'] for r in held.generated})} problems; labels "
          f"0 / 0.5 / 1: {' / '.join(str(labels[k]) for k in LABELS)}")  # fmt: skip
    print(f"{'verifier':<10} {'planted':>8}  {'  '.join(f'{k[:7]:>7}' for k in KINDS)}  "
          f"{'written':>8}  {'  '.join(f'{k[6:]:>7}' for k in LABELS)}  seconds")  # fmt: skip
    found = {}
    for name, path in (("peer", args.peer), ("verifier", args.verifier)):
        begin, backend = time.perf_counter(), train.load(path)
        planted = toy_verifier.verifier_scores(backend, templates, held.proofs, args.tokens)
        written = toy_verifier.verifier_scores(backend, templates, held.generated, args.tokens)
        found[name] = (planted.accuracy, written.accuracy)
        print(f"{name:<10} {planted.accuracy:>8.1%}  {_cells(planted.by_kind, KINDS)}  "
              f"{written.accuracy:>8.1%}  {_cells(written.by_kind, LABELS)}  "
              f"{time.perf_counter() - begin:7.0f}", flush=True)  # fmt: skip
    (p0, w0), (p1, w1) = found["peer"], found["verifier"]
    print(f"verifier / peer accuracy: planted {p1 / max(p0, 1e-9):.2f}x, generator-written "
          f"{w1 / max(w0, 1e-9):.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()
