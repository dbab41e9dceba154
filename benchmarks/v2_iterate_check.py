"""Two rounds of `prover iterate` on the toy world, measured against exact labels.

    python benchmarks/v2_iterate_check.py [--out DIR] [--model toy] [--quick]

1. Writes the toy world's graded proofs and problems (the families the toy prover knows) to
   OUT/data with a recipe: two rounds, `hard_only` (a round's auto-labelled proofs join the
   next round's verifier data only for problems where some new proof was labelled below 1).
2. Runs the recipe with `verifier_train.v2.rounds.run_recipe`, the one call `prover iterate`
   makes, into OUT/run. Per round: verifier GRPO on the labelled data so far, generator GRPO
   from that verifier rewarded by it, new proofs, auto-labels. A re-run resumes.
3. Measures every round against the exact checker (`toyworld.check_proof`):
   - the exact validity of each round's sampled proofs (share labelled 1);
   - each round's auto-labels: coverage and precision;
   - round 1's and round 2's verifier (and the starting model), greedily, on round 2's
     generator proofs: accuracy overall and per exact label. Round 2's verifier was trained
     from round 1's with round 1's auto-labels added; the question is whether it judges the
     newer proofs better. Its peer (`control`) is round 1's verifier trained the same way on
     the initial data alone, which separates the labels from the extra steps.
The last line is one JSON object with the figures. This script does NOT tune anything, train
the cold start (it starts from `--model`, by default the shipped toy prover) or use a GPU;
`--quick` is a smoke run of a few steps.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import _v2_train as train  # noqa: E402
from v2_learning_check import pct  # noqa: E402

FAMILIES = ("arith", "linear")  # what the shipped toy prover was trained on
MAX_CHARS = 160


@dataclass(frozen=True)
class Sizes:
    graded: int = 200  # initial verifier data (40% correct, 20% each flaw)
    problems: int = 48
    proofs_per_problem: int = 4
    label_analyses: int = 4  # n (also the judge's samples per proof in generator GRPO)
    label_meta: int = 1  # m
    label_min_valid: int = 1  # k
    tokens: int = 400  # sampling, labelling and judging (analyses are the longest)
    verifier_steps: int = 20
    generator_steps: int = 10
    batch: int = 32  # completions per GRPO step
    generations: int = 8  # generator GRPO group size (the verifier's is 4)


QUICK = Sizes(graded=32, problems=4, proofs_per_problem=2, label_analyses=2, tokens=96,
              verifier_steps=1, generator_steps=1, batch=4, generations=2)  # fmt: skip


def recipe_text(s: Sizes) -> str:
    """The recipe: the loop's round settings and DeepSeekMath's GRPO objective at toy sizes."""
    stage = {"max_prompt_length": 900, "per_device_train_batch_size": s.batch,
             "gradient_accumulation_steps": 1, "learning_rate": 5e-5, "use_cpu": True}  # fmt: skip
    recipe = {
        "data": {"verifier": ["graded.jsonl"], "problems": ["problems.jsonl"]},
        "iterate": {"rounds": 2, "proofs_per_problem": s.proofs_per_problem,
                    "hard_only": True, "label_analyses": s.label_analyses,
                    "label_meta": s.label_meta, "label_min_valid": s.label_min_valid,
                    "max_tokens": s.tokens, "temperature": 1.0},  # fmt: skip
        "verifier": stage | {"num_generations": 4, "max_steps": s.verifier_steps,
                             "max_completion_length": s.tokens},  # fmt: skip
        "generator": stage | {"num_generations": s.generations,
                              "max_steps": s.generator_steps, "max_completion_length": 160},
    }  # fmt: skip
    return json.dumps(recipe, indent=1)  # YAML is a superset of JSON


def write_data(folder: Path, s: Sizes) -> Path:
    """OUT/data/{graded,problems}.jsonl and recipe.yaml (kept when they exist: resume)."""
    from verifier_train.v2.toyworld import generator_problems, verifier_records

    recipe = folder / "recipe.yaml"
    if recipe.exists():
        return recipe
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "graded.jsonl": verifier_records(s.graded, 0, None, FAMILIES, MAX_CHARS),
        "problems.jsonl": generator_problems(s.problems, 1, FAMILIES, MAX_CHARS),
    }
    for name, rows in files.items():
        (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe.write_text(recipe_text(s))
    return recipe


# --- Measurements ---------------------------------------------------------------------------


@functools.cache
def exact(problem: str, proof: str) -> float:
    """The exact checker's label (cached: a proof is also looked up for its auto-label)."""
    from verifier_train.v2.toyworld import check_proof

    return check_proof(problem, proof).score


def proofs_of(round_dir: Path) -> tuple[list[dict], float]:
    """({problem, proof, score (exact), kind (the exact label)} of a round's usable proofs,
    exact validity: the share of all sampled proofs, unusable ones invalid, labelled 1)."""
    from prover.rundir import read_jsonl

    records = read_jsonl(round_dir / "proofs.jsonl")
    rows = []
    for r in records:
        if r.get("usable"):
            score = exact(r["problem"], r["proof"])
            rows.append({"problem": r["problem"], "proof": r["proof"], "score": score,
                         "kind": f"label {score:g}"})  # fmt: skip
    valid = sum(r["score"] == 1.0 for r in rows)
    return rows, valid / len(records) if records else 0.0


def label_quality(round_dir: Path, proofs: int) -> dict:
    """Auto-labels of a round against exact labels: labelled, coverage, precision."""
    from prover.rundir import read_jsonl

    done = [r for r in read_jsonl(round_dir / "labels.jsonl")
            if r.get("status") == "labelled" and r.get("label") is not None]  # fmt: skip
    right = [float(r["label"]) == exact(r["problem"], r["proof"]) for r in done]
    return {"labelled": len(done), "coverage": len(done) / max(proofs, 1),
            "precision": statistics.mean(right) if right else None}  # fmt: skip


def control(recipe: Path, run: Path, round1_verifier: str) -> str:
    """The peer of round 2's verifier: round 1's verifier trained once more with the same
    stage, steps and seed, on the initial graded data alone (no auto-labels), so that the
    labels' effect is not mistaken for the effect of more steps. Kept in RUN/control/."""
    from verifier_train.recipe_yaml import read_recipe, section
    from verifier_train.v2.iterate import IterateConfig
    from verifier_train.v2.rounds import IterateRun, make_stages, read_plan

    final = run / "control" / "final"
    if not final.exists():
        recipe_dict = read_recipe(recipe)
        config = section(recipe_dict, "iterate", IterateConfig, recipe)
        plan, rows = read_plan(recipe_dict, IterateRun(recipe, run), config)
        return make_stages(plan).train_verifier(round1_verifier, rows, run / "control")
    return str(final)


def judge(model: str, rows: list[dict], tokens: int) -> train.VerifierScores:
    from prover.prompts import Templates

    return train.verifier_scores(train.load(Path(model)), Templates.load(None), rows, tokens)


# --- Report ---------------------------------------------------------------------------------


def report(start: str, rounds: list[dict], out: Path, peer: str, s: Sizes) -> dict:
    """Print the rounds' figures; returns them. `start` is the starting model's folder,
    `peer` the control verifier's."""
    dirs = [out / f"round-{r['round']}" for r in rounds]
    proofs, validities = zip(*(proofs_of(d) for d in dirs), strict=True)
    print(f"\n== prover iterate, 2 rounds from {Path(start).name} ==")
    print("round  proofs  exact validity  labels by exact label     auto-labelled  precision")
    summary: dict = {"validity": [], "labels": []}
    for k, (d, rows, v) in enumerate(zip(dirs, proofs, validities, strict=True), 1):
        q = label_quality(d, len(rows))
        counts = Counter(r["kind"] for r in rows)
        print(f"{k:5d}  {len(rows):6d}  {v:14.1%}  {dict(sorted(counts.items()))!s:<24}  "
              f"{q['coverage']:13.1%}  {pct(q['precision']):>9}")  # fmt: skip
        summary["validity"].append(v)
        summary["labels"].append(q)
    judges = {"start": start} | {f"round {k}": rounds[k - 1]["done"]["verifier"]
                                 for k in (1, 2)} | {"control": peer}  # fmt: skip
    print(f"\nVerifiers, greedy, on round 2's {len(proofs[1])} generator proofs:")
    print("verifier   accuracy  " + "  ".join(f"{k:>9}" for k in sorted(Counter(
        r["kind"] for r in proofs[1]))))  # fmt: skip
    summary["accuracy_on_round2_proofs"] = {}
    for name, model in judges.items():
        sc = judge(model, proofs[1], s.tokens)
        cells = "  ".join(f"{v:9.1%}" for _, v in sorted(sc.by_kind.items()))
        print(f"{name:<9}  {sc.accuracy:8.1%}  {cells}")
        summary["accuracy_on_round2_proofs"][name] = {"accuracy": sc.accuracy} | sc.by_kind
    acc = {k: v["accuracy"] for k, v in summary["accuracy_on_round2_proofs"].items()}
    gains = {"round2_minus_round1": acc["round 2"] - acc["round 1"],
             "round2_minus_control": acc["round 2"] - acc["control"]}  # fmt: skip
    print(f"on round 2's {len(proofs[1])} proofs, round 2's verifier against round 1's: "
          f"{gains['round2_minus_round1']:+.1%}; against the control (the same training "
          f"without the auto-labels): {gains['round2_minus_control']:+.1%}")  # fmt: skip
    return summary | gains


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/v2-iterate-check"))
    parser.add_argument("--model", default="toy", help="the starting model (default: toy)")
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few steps")
    args = parser.parse_args()
    from prover.backends.hub import resolve_model
    from verifier_train.v2.rounds import IterateRun, run_recipe

    s = QUICK if args.quick else Sizes()
    start = time.perf_counter()
    recipe = write_data(args.out / "data", s)
    model = resolve_model(args.model)
    _, rounds = run_recipe(IterateRun(recipe, args.out / "run", model=model),
                           log=lambda m: print(m, flush=True))  # fmt: skip
    peer = control(recipe, args.out / "run", rounds[0]["done"]["verifier"])
    summary = report(model, rounds, args.out / "run", peer, s)
    seconds = time.perf_counter() - start
    print(f"{seconds:.0f} s in all")
    print(json.dumps(summary | {"seconds": seconds}))


if __name__ == "__main__":
    main()
