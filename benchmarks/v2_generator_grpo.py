"""Exact-reward generator GRPO at several (steps, learning rate) settings from one SFT start.

    python benchmarks/v2_generator_grpo.py [--runs 40x2e-4,80x1e-4,160x1e-4] [--seed 0]
                          [--grpo-seeds 0,1,2] [--fresh] [--families linear] [--quick]

How much true validity GRPO can add to the toy generator with the exact reward: the gain that
`v2_learning_check.py`'s verifier-rewarded run is measured against, so it must be a gain. The
generator is trained as the check trains its own for that seed (the copy warm-up, then SFT on
correct generations, stopped early). Each run starts from that SFT model with the check's
exact reward (`v2.rewards.generator_reward` judged by `toyworld.ExactJudge`) and GRPO
recipe (64 completions per step, G 8, beta 0.04), at its own steps and learning rate.
`--fresh` gives GRPO problems the SFT did not train on: the SFT model solves about a third
of its own training problems but a tenth of unseen ones. `--grpo-seeds` repeats each run from
the same SFT model with other GRPO seeds (its rollouts, data order and validity samples): how
far two runs that differ only in their random stream land apart, the noise under the check's
gain fraction when its two runs do not share one.

True validity (`check_proof`) on the check's held-out problems, greedy and sampled at T=1, is
measured before and after each run, with TRL's logged training reward over the first and last
3 steps. `--judge-path VERIFIER` runs each also through `v2_learning_check.py`'s
verifier-reward path (`v2.stages.generator_trainer`, VERIFIER's probe runs, the judge's tally)
with the exact checker in the judge's place: on the same random stream it must land where the
exact-reward run lands, so that the check's gap between its two runs is the judge's. The
last line is one JSON object. This script uses a verifier only for those probe runs, never
for a reward, and it prints one line per run as it finishes.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path
from tempfile import TemporaryDirectory

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import _v2_data as data  # noqa: E402
import _v2_stages as stages  # noqa: E402
from v2_generator_proofs import distinct_problems  # noqa: E402
from v2_learning_check import QUICK, Settings, init_worker, seed_list  # noqa: E402

FRESH_SEED = 4 * 10**6  # apart from the check's draws and v2_generator_proofs.py's


def parse_runs(text: str) -> list[tuple[int, float]]:
    """'80x1e-4,160x5e-5' -> [(80, 1e-4), (160, 5e-5)]; ValueError when malformed."""
    runs = []
    for part in text.split(","):
        steps, sep, lr = part.partition("x")
        if not sep or int(steps) < 1 or float(lr) <= 0:
            raise ValueError(part)
        runs.append((int(steps), float(lr)))
    return runs


def fresh_problems(start: stages.GeneratorStart, world: data.World, n: int) -> list[str]:
    """Up to n distinct problems that neither the SFT nor the held-out measurement uses."""
    taken = set(start.problems) | set(start.heldout)
    return [p for p in distinct_problems(4 * n, FRESH_SEED, world) if p not in taken][:n]


def one_run(job: stages.Job, start: stages.GeneratorStart, steps: int, lr: float,
            seed: int, verifier: Path | None = None) -> dict:  # fmt: skip
    """One exact-reward GRPO run from `start` at GRPO seed `seed`: its validity after, reward
    ends and time. With `verifier`, through the verifier-reward path, the exact checker in
    its judge's place (`stages.ExactInPlace`)."""
    settings = replace(job.settings, generator_grpo_steps=steps, generator_grpo_lr=lr)
    path = "judge" if verifier else "exact"
    tmp = job.tmp / f"grpo-{steps}x{lr:g}-seed{seed}-{path}"
    tmp.mkdir(parents=True)
    run = stages.generator_grpo(replace(job, settings=settings, tmp=tmp, seed=seed),
                                "verifier" if verifier else "exact", start, verifier,
                                exact_in_place=verifier is not None)  # fmt: skip
    first, last = run.rewards
    return {"steps": steps, "lr": lr, "seed": seed, "path": path, "greedy": run.validity.greedy,
            "sampled": run.validity.sampled, "reward_first": first, "reward_last": last,
            "seconds": round(run.seconds, 1)}  # fmt: skip


def print_table(start: stages.GeneratorStart, rows: list[dict], s: Settings) -> None:
    print(f"\nexact-reward GRPO from one SFT generator: true validity on {len(start.heldout)} "
          f"held-out problems (greedy; {s.validity_samples} samples at T=1)")  # fmt: skip
    names = [f"{r['steps']} steps x {r['lr']:g}, seed {r['seed']}"
             + (", judge path" if r["path"] == "judge" else "") for r in rows]  # fmt: skip
    w = max([25, *map(len, names)])
    print(f"{'run':<{w}}  greedy  sampled  sampled gain  reward first->last  seconds")
    v = start.validity
    print(f"{'SFT start':<{w}} {v.greedy:7.1%}  {v.sampled:7.1%}")
    for name, r in zip(names, rows, strict=True):
        first, last = (
            "-" if r[k] is None else f"{r[k]:.3f}" for k in ("reward_first", "reward_last")
        )
        ends = f"{first} -> {last}"  # "-": no reward logged (never at real sizes)
        print(f"{name:<{w}} {r['greedy']:7.1%}  {r['sampled']:7.1%}  "
              f"{r['sampled'] - v.sampled:+11.1%}  {ends:>18}  {r['seconds']:7.0f}")  # fmt: skip
    print(f"(one standard error of a sampled share near {v.sampled:.0%}: "
          f"{(v.sampled * (1 - v.sampled) / max(len(v.proofs), 1)) ** 0.5:.1%})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default="40x2e-4,80x1e-4,160x1e-4", help="STEPSxLR, ...")
    parser.add_argument("--seed", type=int, default=0, help="the check's seed to train as")
    parser.add_argument("--grpo-seeds", default=None, help="GRPO seeds of each run, comma-"
                        "separated (default: --seed)")  # fmt: skip
    parser.add_argument("--fresh", action="store_true", help="GRPO on problems SFT never saw")
    parser.add_argument("--families", default="linear")
    parser.add_argument("--quick", action="store_true", help="the check's --quick sizes")
    parser.add_argument("--judge-path", type=Path, metavar="VERIFIER",
                        help="run each also through the verifier-reward path (VERIFIER's probe "
                        "runs), the exact checker in its judge's place")  # fmt: skip
    args = parser.parse_args()
    try:
        runs = parse_runs(args.runs)
    except ValueError:
        parser.error(f"--runs {args.runs!r}: give STEPSxLR pairs, comma-separated (80x1e-4)")
    seeds = seed_list(parser, "--grpo-seeds", args.grpo_seeds, str(args.seed), "0,1")
    if args.judge_path and not (args.judge_path / "config.json").is_file():
        parser.error(f"--judge-path {args.judge_path}: holds no model (no config.json)")
    init_worker(1)
    settings = QUICK if args.quick else Settings()
    world = data.World(families=tuple(args.families.split(",")))
    words = tuple(data.vocabulary_words(data.load_templates()))
    begin, rows = time.perf_counter(), []
    with TemporaryDirectory() as tmp:
        job = stages.Job(world, settings, args.seed, Path(tmp), words)
        start = stages.generator_sft(job, stages.copy_stage(job)[0])
        if args.fresh:
            start = replace(start, problems=fresh_problems(start, world, len(start.problems)))
            print(f"  GRPO on {len(start.problems)} problems the SFT did not train on")
        for (steps, lr), seed in ((run, seed) for run in runs for seed in seeds):
            rows.append(one_run(job, start, steps, lr, seed))
            if args.judge_path:
                rows.append(one_run(job, start, steps, lr, seed, args.judge_path.resolve()))
    print_table(start, rows, settings)
    v = start.validity
    print(json.dumps({"seed": args.seed, "fresh": args.fresh, "start_greedy": v.greedy,
                      "start_sampled": v.sampled, "runs": rows,
                      "seconds": round(time.perf_counter() - begin, 1)}))  # fmt: skip


if __name__ == "__main__":
    main()
