"""Scaled verification at several sampling temperatures, on the same generator-written proofs.

    python benchmarks/v2_label_temperature.py --verifier DIR [--temperatures 1,0.7,0.5]
                                              [--proofs 144] [--samples 16] [--seed 0]
                                              [--generator-proofs FILE] [--quick]

The learning check samples its n analyses and their meta-verifications at one temperature
(`v2_learning_check.py`, `label_temperature`: 1 until this script measured 0.6). Where the
verifier's sampled analyses are weaker than its greedy one, each extra analysis is one more
chance of a wrong, confirmed finding, and auto-label precision at (n, 1, 1) can fall with n
(RESULTS.md, 2026-12-07). This script measures, at each temperature, what the check's scaled
stage measures: the accuracy of the mean and of the majority of n analyses, and the published
label rules over the (n, m, k) grid (`_v2_scaled`), all from one set of N_MAX samples per
proof and temperature.

The proofs are generator-written held-out ones of the toy verifier recipe: those of
`toy_verifier.heldout` over `--generator-proofs` (the model card's set), minus the verifier's
training problems, the first `--proofs` of them in a seeded order. They are sampled proofs of
the learning check's SFT generators, labelled by the exact checker. Each temperature is one
task of a two-worker pool (one torch thread each); the greedy pass is another. The last line
is one JSON object.

This script does not train anything, and it does not run the learning check's proofs (those
are written by the check's own generators).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import _v2_data as data  # noqa: E402
import _v2_scaled as scaled  # noqa: E402
import _v2_train as train  # noqa: E402
from v2_learning_check import QUICK, Settings, given_verifier, init_worker  # noqa: E402

from prover.backends.base import Sampling  # noqa: E402
from verifier_train.v2 import toy_verifier  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PROOFS = ROOT / "datasets" / "toy" / "generator-proofs.jsonl.gz"


def held_proofs(path: Path, seen: frozenset[str], n: int, seed: int) -> list:
    """The first n held-out generator-written proofs (`scaled.GeneratedProof`) in a seeded
    order; exits with one line when the file holds none."""
    from verifier_train.v2.toyworld.rows import World

    rows, bad = toy_verifier.read_proofs(path)
    if bad:
        print(f"{path}: skipped {len(bad)} unreadable lines (first: line {bad[0]})")
    recipe = toy_verifier.ToyVerifierRecipe  # the card's held-out set: the recipe's defaults
    world = World(recipe.families, recipe.max_chars)
    held = toy_verifier.heldout(world, rows, 0, recipe.heldout_generated).generated
    proofs = [scaled.GeneratedProof(r["problem"], r["proof"], float(r["score"]))
              for r in held if r["problem"] not in seen]  # fmt: skip
    if not proofs:
        raise SystemExit(f"error: {path} holds no held-out generator-written proofs")
    random.Random(seed).shuffle(proofs)
    return proofs[:n]


def greedy_pass(verifier: Path, proofs: list, tokens: int) -> dict:
    """Greedy accuracy, overall and per exact label."""
    start, backend = time.perf_counter(), train.load(verifier)
    once = scaled.greedy(backend, data.load_templates(), proofs, tokens)
    right = [r["score"] == p.label for r, p in zip(once, proofs, strict=True)]
    return {"accuracy": sum(right) / len(right), "by_label": scaled.by_label(right, proofs),
            "seconds": round(time.perf_counter() - start, 1)}  # fmt: skip


def sampled_pass(verifier: Path, proofs: list, temperature: float, samples: int, tokens: int,
                 seed: int) -> dict:  # fmt: skip
    """What the check's scaled stage measures from `samples` analyses per proof at
    `temperature` (top-p 1), each issue-finding one meta-verified `M_MAX` times alike."""
    start, backend, templates = time.perf_counter(), train.load(verifier), data.load_templates()
    sampling = Sampling(temperature, 1.0, tokens, seed=seed)
    majority, mean, grid = scaled.sampled(backend, templates, proofs, samples, sampling)
    return {
        "temperature": temperature,
        "mean_by_n": mean,
        "majority_by_n": majority,
        "grid": grid,
        "best": scaled.best_label_row(grid),
        "seconds": round(time.perf_counter() - start, 1),
    }


def pct(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:6.1%}"


def report(greedy: dict, runs: list[dict], samples: int) -> None:
    ns = [n for n in scaled.N_GRID if n <= samples]
    print(
        f"\ngreedy: {greedy['accuracy']:.1%} ({greedy['seconds']:.0f} s); per label "
        + ", ".join(f"{k} {pct(v).strip()}" for k, v in greedy["by_label"].items())
    )
    print(f"\n{'T':>4} {'figure':<28}" + "".join(f"{f'n={n}':>8}" for n in ns))
    for r in runs:
        cover = {row["n"]: row for row in r["grid"] if (row["m"], row["k"]) == (1, 1)}
        lines = [("mean of n", r["mean_by_n"]), ("majority of n", r["majority_by_n"]),
                 ("precision (n,1,1)", {n: cover[n]["precision"] for n in ns}),
                 ("coverage (n,1,1)", {n: cover[n]["coverage"] for n in ns})]  # fmt: skip
        for name, row in lines:
            print(f"{r['temperature']:>4g} {name:<28}" + "".join(f"{pct(row[n]):>8}" for n in ns))
        best = r["best"]
        said = "none at coverage >= 50%" if best is None else (
            f"({best['n']}, {best['m']}, {best['k']}): {best['precision']:.1%} at "
            f"{best['coverage']:.1%}")  # fmt: skip
        print(f"{r['temperature']:>4g} best budget: {said}; {r['seconds']:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verifier", type=Path, required=True)
    parser.add_argument("--temperatures", default="1,0.7,0.5")
    parser.add_argument("--proofs", type=int, default=144)
    parser.add_argument("--samples", type=int, default=16, help="analyses per proof (N_MAX)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--generator-proofs", type=Path, default=PROOFS)
    parser.add_argument("--workers", type=int, default=2, choices=(1, 2))
    parser.add_argument("--quick", action="store_true", help="12 proofs, 4 samples, short")
    args = parser.parse_args()
    temperatures = [float(t) for t in args.temperatures.split(",")]
    seen = given_verifier(args.verifier)
    settings = QUICK if args.quick else Settings()
    n, samples = (12, 4) if args.quick else (args.proofs, args.samples)
    proofs = held_proofs(args.generator_proofs, seen, n, args.seed)
    print(
        f"{len(proofs)} held-out generator-written proofs, labels "
        f"{dict(sorted(Counter(scaled.key(p.label) for p in proofs).items()))}; "
        f"{samples} analyses each at T {', '.join(map(str, temperatures))}",
        flush=True,
    )
    start, tokens, verifier = time.perf_counter(), settings.verification_tokens, args.verifier
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(args.workers, context, init_worker, (1,)) as pool:
        runs = [pool.submit(sampled_pass, verifier, proofs, t, samples, tokens, args.seed)
                for t in temperatures]  # fmt: skip
        greedy = pool.submit(greedy_pass, verifier, proofs, tokens).result()
        done = [r.result() for r in runs]
    report(greedy, done, samples)
    out = {"proofs": len(proofs), "samples": samples, "greedy": greedy["accuracy"],
           "seconds": round(time.perf_counter() - start, 1),
           "by_temperature": {f"{r['temperature']:g}": {
               "precision_by_n": scaled.precision_by_n(r["grid"]),
               "mean_by_n": r["mean_by_n"], "majority_by_n": r["majority_by_n"],
               "best": r["best"]} for r in done}}  # fmt: skip
    print(json.dumps(out))


if __name__ == "__main__":
    main()
