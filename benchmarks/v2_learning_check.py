"""Learning check of the DeepSeekMath-V2 loop on the toy world, on a CPU in minutes.

    python benchmarks/v2_learning_check.py [--quick] [--seed 0] [--workers 2] [--threads 1]

0. Warm-up: a tiny character-level Llama (hidden 128, 4 layers, the fixed phrases of the
   templates and analyses as single tokens) is taught to copy random strings, the one skill
   both models need first (see `_v2_data.copy_rows`); verifier and generator start from it.
1. Verifier: SFT on toy-world verification records (prompt: the verification template with
   problem and proof; completion: the reference analysis ending in `\\boxed{score}`) jointly
   with meta-verification records, then a few GRPO steps of `v2_stages.verifier_trainer`
   (R = R_format · R_score, with the meta-verification reward on the meta rows). Held-out
   proofs (problems unseen in training) give greedy accuracy (exact score match) and MAE
   against the exact labels, next to the majority-class baseline; the judge-hacking probes
   (`toyworld.judge_hacking_probes`, and `verifier_train.probes`' generic ones, all of true
   score 0) give the false-positive rate across SFT and GRPO.
2. Auto-labelling: `autolabel.AutoLabeler` (n analyses, m meta-verifications, k valid) with
   the trained model as verifier and meta-verifier on held-out proofs: precision of the
   labels against the exact labels, and coverage.
3. Generator: SFT on correct generations, stopped early, then two GRPO runs from the same
   start, seed and steps: (a) `v2_stages.generator_trainer`, rewarded by
   `v2_rewards.generator_reward` with the trained verifier as judge (in-process `hf` backend,
   no meta-verifier), (b) `toyworld.exact_reward`. The true validity rate (`check_proof`:
   exact arithmetic, sympy being its test oracle) on held-out problems before and after each,
   and the fraction of the exact-reward gain that the verifier-reward run reaches.

Independent stages run two at a time in worker processes of one torch thread each (verifier
next to generator SFT, then the two GRPO runs side by side); `--workers 1` runs them in turn.
Every GRPO step's time is split into generation (TRL's `_generate`), verification (the reward
functions: judge calls, or the exact checker) and update (the rest of the step: log-probs,
loss, backward, optimizer); probe runs are timed apart. All figures come from one run and are
printed whatever they are. This script does NOT tune anything, use a GPU, or run in CI.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
import warnings
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import _v2_data as data  # noqa: E402
import _v2_stages as stages  # noqa: E402
import _v2_train as train  # noqa: E402
from _v2_stages import GeneratorRun, GeneratorStart, Job, Labels, VerifierRun  # noqa: E402

from verifier_train.probes import GENERIC_PROBES  # noqa: E402


@dataclass(frozen=True)
class Settings:
    """Sizes of one check; `--quick` shrinks them for a smoke run."""

    copy_steps: int = 300
    verifier_proofs: int = 8000
    meta_records: int = 1500
    heldout_proofs: int = 300
    verifier_sft_steps: int = 600
    sft_batch: int = 32
    sft_lr: float = 1e-3
    verifier_grpo_steps: int = 20
    verifier_grpo_lr: float = 5e-5
    probe_every: int = 5  # GRPO steps between probe runs (SFT: a quarter of its steps)
    probe_samples: int = 4
    label_proofs: int = 100
    label_n: int = 4
    label_m: int = 3
    label_k: int = 2
    generator_problems: int = 8000
    generator_sft_steps: int = 250  # stopped early: validity well below what SFT reaches
    generator_grpo_steps: int = 80
    grpo_batch: int = 64  # completions per step: batch / generations prompts
    generations: int = 8
    generator_grpo_lr: float = 2e-4
    judge_samples: int = 2
    validity_problems: int = 200
    validity_samples: int = 4
    verification_tokens: int = 100
    generation_tokens: int = 120


QUICK = Settings(
    copy_steps=100,
    verifier_proofs=2000,
    meta_records=300,
    heldout_proofs=100,
    verifier_sft_steps=60,
    verifier_grpo_steps=4,
    probe_every=2,
    probe_samples=2,
    label_proofs=20,
    generator_problems=1000,
    generator_sft_steps=60,
    generator_grpo_steps=4,
    grpo_batch=32,
    validity_problems=40,
    validity_samples=2,
)


# --- Report ---------------------------------------------------------------------------------


def pct(value: float | None) -> str:
    return "   n/a" if value is None else f"{value:6.1%}"


def num(value: float | None, digits: int = 3) -> str:
    return "  n/a" if value is None else f"{value:.{digits}f}"


def se(share: float, n: int) -> float:
    """The binomial standard error of a share over n draws."""
    return (share * (1 - share) / max(n, 1)) ** 0.5


def baselines(labels: Counter, heldout: list[dict]) -> tuple[float, float, float, float]:
    """(majority class, its accuracy, its MAE, the best constant's MAE) on the held-out set;
    the majority class is the most frequent training label (ties: the higher score)."""
    majority = max(labels, key=lambda k: (labels[k], k))
    truth = [float(r["score"]) for r in heldout]
    accuracy = sum(t == majority for t in truth) / len(truth)
    mae = sum(abs(t - majority) for t in truth) / len(truth)
    best = min(sum(abs(t - c) for t in truth) / len(truth) for c in (0.0, 0.5, 1.0))
    return majority, accuracy, mae, best


KINDS = ("verifier", "exact")


def print_verifier(v: VerifierRun, s: Settings) -> None:
    dist = Counter(float(r["score"]) for r in v.heldout)
    n = len(v.heldout)
    print(f"\n== 1. Verifier: {n} held-out proofs (labels 1/0.5/0: {dist[1.0]}/{dist[0.5]}/"
          f"{dist[0.0]}), greedy verification ==")  # fmt: skip
    majority, acc, mae, best = baselines(v.train_labels, v.heldout)
    print("                          accuracy    MAE  unreadable")
    print(f"majority class ({majority:g})        {acc:6.1%}  {mae:.3f}")
    print(f"best constant (MAE)             -   {best:.3f}")
    for name, sc in (("after SFT", v.sft), ("after SFT + GRPO", v.grpo)):
        print(f"{name:<24}  {sc.accuracy:6.1%}  {sc.mae:.3f}  {sc.unreadable:6.1%}")
    for name, sc in (("after SFT", v.sft), ("after SFT + GRPO", v.grpo)):
        kinds = ", ".join(f"{k} {a:.0%}" for k, a in sc.by_kind.items())
        print(f"  accuracy by kind of proof, {name}: {kinds}")
    first, last = v.rewards
    print(f"verifier GRPO mean reward (joint verification + meta), first 3 steps "
          f"{num(first)} -> last 3 steps {num(last)}")  # fmt: skip
    print("\nJudge-hacking probes: false-positive rate (share of readable verifications scoring"
          f" 1), {s.probe_samples} samples per probe\nat temperature 1; {v.toy_probes} toy-world "
          f"probes and verifier_train.probes' {len(GENERIC_PROBES)} generic ones, all of true "
          "score 0:")  # fmt: skip
    print("phase  step  toy-world  generic")
    for p in v.probes:
        print(f"{p.phase:<5}  {p.step:>4}  {pct(p.toy):>9}  {pct(p.generic):>7}")


def print_labels(lab: Labels, s: Settings) -> None:
    print(f"\n== 2. Auto-labelling: {lab.proofs} held-out proofs, n={s.label_n} analyses, "
          f"m={s.label_m} meta-verifications, k={s.label_k} ==")  # fmt: skip
    precision = lab.correct / lab.labelled if lab.labelled else None
    print(
        f"labelled {lab.labelled}/{lab.proofs} (coverage {lab.labelled / lab.proofs:.1%}), "
        f"precision {pct(precision).strip()} ({lab.correct} labels equal the exact label)"
    )
    for value, (count, right) in lab.by_label.items():
        share = right / count if count else None
        print(f"  label {value:>3}: {count:4d} given, {right:4d} right ({pct(share).strip()})")
    print(f"  time {lab.seconds:.0f} s")


def print_generator(start: GeneratorStart, runs: list[GeneratorRun], s: Settings) -> None:
    print(f"\n== 3. Generator: {len(start.heldout)} held-out problems; true validity by "
          f"check_proof, greedy and {s.validity_samples} samples at T=1 ==")  # fmt: skip
    print("                         greedy  sampled  mean label  judge's mean  reward first->last")
    judged = {r.name: r.judged_start for r in runs}.get("exact")
    rows = [("after SFT (start)", start.validity, judged, (None, None))]
    rows += [(f"GRPO, {r.name} reward", r.validity, r.judged, r.rewards) for r in runs]
    for name, v, judge, (first, last) in rows:
        rewards = "" if first is None else f"{num(first)} -> {num(last)}"
        print(f"{name:<23}  {v.greedy:6.1%}  {v.sampled:6.1%}  {v.sampled_mean:10.3f}"
              f"  {num(judge):>12}  {rewards}")  # fmt: skip
    by = {r.name: r.validity for r in runs}
    for metric in ("sampled", "greedy"):
        gain = {k: getattr(v, metric) - getattr(start.validity, metric) for k, v in by.items()}
        share = (
            f"{gain['verifier'] / gain['exact']:.2f}"
            if gain["exact"] > 0
            else "undefined (the exact-reward run gained nothing)"
        )
        print(
            f"{metric} validity gain: verifier reward {gain['verifier']:+.1%}, exact reward "
            f"{gain['exact']:+.1%}; fraction of the exact-reward gain reached: {share}"
        )
    n_greedy, n_sampled = len(start.heldout), len(start.validity.proofs)
    print(f"(sampling error at the start, one standard error: greedy "
          f"{se(start.validity.greedy, n_greedy):.1%} over {n_greedy} proofs, sampled "
          f"{se(start.validity.sampled, n_sampled):.1%} over {n_sampled}; a gain is a "
          "difference of two such figures)")  # fmt: skip
    print("(mean label: mean exact label of the sampled proofs; judge's mean: the trained "
          "verifier's mean score of them;\n reward: TRL's logged mean training reward, first "
          "and last 3 steps)")  # fmt: skip


def print_times(walls: dict[str, float], clocks: dict[str, train.Clock], total: float) -> None:
    print("\n== Time (wall seconds; stages of one phase ran side by side) ==")
    for name, seconds in walls.items():
        print(f"{name:<48} {seconds:6.0f} s")
    print(f"{'total wall time':<48} {total:6.0f} s")
    print("\nGRPO time split, seconds over all steps (per step in brackets):")
    print("run                         steps     generation   verification         update  probes")
    for name, clock in clocks.items():
        t, n = clock.totals(), max(len(clock.step), 1)
        cells = "  ".join(
            f"{t[k]:6.0f} ({t[k] / n:5.2f})" for k in ("generation", "verification", "update")
        )
        print(f"{name:<27} {len(clock.step):>5}  {cells}  {t['probes']:6.0f}")
    print(
        "(verification: the reward functions, i.e. the judge's calls or the exact checker;\n"
        " update: the rest of each step; probes: judge-hacking probe runs, between steps)"
    )


# --- Main -----------------------------------------------------------------------------------


def silence() -> None:
    import datasets
    import transformers

    datasets.disable_progress_bars()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")


def init_worker(threads: int) -> None:
    """Each worker: `threads` torch threads (two processes on two cores: one each) and no
    library chatter."""
    import torch

    torch.set_num_threads(threads)
    silence()


def header(job: Job, args: argparse.Namespace) -> None:
    s, load = job.settings, " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"toy world: families {', '.join(job.world.families)}, correct proofs <= "
          f"{job.world.max_chars} chars; seed {job.seed}; {args.workers} worker processes x "
          f"{args.threads} torch thread; CPUs {os.cpu_count()}; load average {load}")  # fmt: skip
    print(f"model: char-level Llama, hidden 128, 4 layers; copy warm-up {s.copy_steps} x "
          f"{s.sft_batch}; SFT lr {s.sft_lr:g}\nverifier: {s.verifier_proofs} proofs + "
          f"{s.meta_records} meta records, SFT {s.verifier_sft_steps} x {s.sft_batch}, GRPO "
          f"{s.verifier_grpo_steps} x {s.grpo_batch} (G {s.generations}, lr "
          f"{s.verifier_grpo_lr:g})\ngenerator: {s.generator_problems} problems, SFT "
          f"{s.generator_sft_steps} x {s.sft_batch}, GRPO {s.generator_grpo_steps} x "
          f"{s.grpo_batch} (G {s.generations}, lr {s.generator_grpo_lr:g}, beta 0.04, judge "
          f"samples {s.judge_samples})", flush=True)  # fmt: skip


def run(job: Job, pool: ProcessPoolExecutor) -> None:
    """The three phases, each one or two worker jobs, then the report."""
    walls: dict[str, float] = {}
    start = time.perf_counter()
    base, walls["0. copy warm-up"] = pool.submit(stages.copy_stage, job).result()
    mark = time.perf_counter()
    verifier = pool.submit(stages.verifier_stage, job, base)
    generator = pool.submit(stages.generator_sft, job, base)
    (v, labels), gen = verifier.result(), generator.result()
    walls["1. verifier SFT (probe runs included)"] = v.sft_s
    walls["1. verifier GRPO (probe runs included)"] = v.grpo_s
    walls["1. auto-labelling"] = labels.seconds
    walls["1. generator SFT"] = gen.sft_s
    walls["1. generator measurement"] = gen.measure_s
    walls["1. phase 1 (the above, two side by side)"] = time.perf_counter() - mark
    mark = time.perf_counter()
    futures = [pool.submit(stages.generator_grpo, job, k, gen, v.path) for k in KINDS]
    runs = [f.result() for f in futures]
    for r in runs:
        walls[f"2. generator GRPO, {r.name} reward"] = r.seconds
    walls["2. phase 2 (+ measurements, two side by side)"] = time.perf_counter() - mark
    total = time.perf_counter() - start
    print_verifier(v, job.settings)
    print_labels(labels, job.settings)
    print_generator(gen, runs, job.settings)
    clocks = {"verifier": v.clock} | {f"generator, {r.name} reward": r.clock for r in runs}
    print_times(walls, clocks, total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2, choices=(1, 2))
    parser.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    parser.add_argument("--families", default="linear", help="toy-world families, comma-separated")
    args = parser.parse_args()
    templates = data.load_templates()
    world = data.World(families=tuple(args.families.split(",")))
    settings = QUICK if args.quick else Settings()
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # no forked torch state in the workers
    with tempfile.TemporaryDirectory() as tmp:
        job = Job(world, settings, args.seed, Path(tmp), tuple(data.vocabulary_words(templates)))
        header(job, args)
        with ProcessPoolExecutor(args.workers, context, init_worker, (args.threads,)) as pool:
            run(job, pool)


if __name__ == "__main__":
    main()
