"""Learning check of the DeepSeekMath-V2 loop on the toy world, on a CPU, against exact labels.

    python benchmarks/v2_learning_check.py [--quick] [--seeds 0,1,2] [--workers 2] [--grpo-seeds 1]
        [--families linear] [--verifier DIR] [--quote-check [--judge-retries N]]

Per seed:
0. Warm-up: a tiny character-level Llama (hidden 128, 4 layers, the fixed phrases of the
   templates and analyses as single tokens) is taught to copy random strings, the one skill
   both models need first (see `_v2_data.copy_rows`); verifier and generator start from it.
1. Verifier: SFT on toy-world verification records whose reference analyses re-derive every
   step (`toyworld.analysis`: each fold's computation, the expected line, the proof's line
   copied to the first differing character, ok / skip / false, then `\\boxed{score}`), drawn with
   `rows.TRAIN_MIX`: the held-out kinds plus the "slips" drill (several slipped states, so
   that copying the proof's line as the "expected" one stops paying; see `toyworld.proofs`) and
   5% non-proofs (never the probe texts), jointly with meta-verification records
   (faithful, wrong score, invented issue, missed issue); then GRPO
   with `v2.stages.verifier_trainer` (R_format · R_score, the meta reward on the meta rows).
   Greedy accuracy on planted held-out proofs (unseen problems) by kind; judge-hacking probe
   false-positive rates during SFT and GRPO. `--verifier DIR` starts from a verifier trained
   elsewhere (longer than this check can afford) in place of the SFT, such as the `final/` of
   `prover iterate verifier_train/recipes/toy-verifier.yaml`; the problems listed in
   its `training_problems.json` are left out of every held-out set, and its training is not
   timed; its GRPO then runs beside the warm-up, which only the generator needs. In
   parallel, the generator's SFT on correct generations, stopped early; its sampled proofs of
   held-out problems are kept.
2. Scaled verification (`_v2_scaled`) on those generator-written proofs, labelled by the exact
   checker: greedy accuracy by exact label; accuracy of the majority and of the mean of n = 1,
   2, 4, 8, 16 samples at `label_temperature` (0.6); auto-labelling precision and coverage
   over a grid of (n, m, k).
3. Generator GRPO rewarded by the trained verifier (`v2.rewards.generator_reward`: R_format ·
   (0.76 R_proof + 0.24 R_self), one greedy verification per proof), and the same reward
   with the exact label as R_proof (`toyworld.ExactJudge`), same start, seed and steps. Both
   runs reseed torch at every generation call from (seed, step) (`reseed_generation`; the
   judge-hacking probes draw from a forked RNG): they sample the same rollouts until their
   rewards first differ, and after that with common random numbers, so they part only as far
   as their policies do (the share of held-out proofs both wrote alike is printed); every
   R_proof the judge gives in training is tallied against
   the proof's exact label (what the policy was paid for). With `--quote-check`, the judge
   scores 0 a verification that credits a proof whose lines its analysis misquotes
   (`toyworld.analysis.quotes_faithfully`: the verifier's commonest false pass is a copy
   slip); whether each step holds is still the model's call; `--judge-retries N` verifies a
   proof whose verification misquotes it (crediting it or not) again, N samples at T 0.6.
   `--grpo-seeds K`: K such pairs of runs per seed, each pair at its own GRPO seed; the
   gain fraction is then the mean gain over the mean gain (`_v2_gain`). The test-time loop
   (`prover.loop.Loop`, what `prover solve` runs) on held-out problems at a few (P, V, R)
   budgets, the best proof of the pool against a single sample. Steps 2 and 3
   need only step 1's models: their jobs share the two workers, the longest first.

True validity (`check_proof`) before and after each GRPO run gives the fraction of the
exact-reward gain the verifier reward reaches; the generator's self-evaluation calibration
(boxed self-score equal to the exact label) is measured before and after. Every GRPO step's
time is split into generation, verification (the reward functions) and update. Each seed's
report is printed as it finishes, then the mean and range over seeds, and last one JSON line
with the summary (keys: `verifier_accuracy`, `verifier_accuracy_by_class`, `label_precision`,
`label_coverage`, `label_precision_by_n`, `gain_fraction`, `gain_fraction_by_seed`,
`probe_false_positive_max`, `test_time_single`, `test_time_best`, `seconds`, ...).
All figures come from one run and are printed whatever they are. This script does NOT tune
anything or use a GPU; `--quick` (tiny sizes, one seed) is a smoke run for CI's slow step.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
import warnings
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import _v2_data as data  # noqa: E402
import _v2_scaled as scaled  # noqa: E402
import _v2_stages as stages  # noqa: E402
import _v2_train as train  # noqa: E402
from _v2_gain import gain_figures, label, num, pct, print_generator  # noqa: E402
from _v2_stages import GeneratorRun, GeneratorStart, Job, VerifierRun  # noqa: E402

from verifier_train.v2.probes import GENERIC_PROBES  # noqa: E402
from verifier_train.v2.toyworld import analysis  # noqa: E402


@dataclass(frozen=True)
class Settings:
    """Sizes of one seed, aimed at three seeds in an hour on 2 cores (RESULTS.md has each run's
    time); `--quick` shrinks them for a smoke run."""

    copy_steps: int = 200
    verifier_proofs: int = 16000
    meta_records: int = 1500
    meta_form: str = "sentence"  # meta answers: one sentence, or "worked" (`toyworld.data`)
    heldout_proofs: int = 200
    verifier_sft_steps: int = 600
    sft_batch: int = 32
    sft_lr: float = 1e-3  # constant; cosine over the verifier's 600 steps: 0.72x (RESULTS.md)
    verifier_grpo_steps: int = 10
    verifier_grpo_lr: float = 5e-5
    probe_every: int = 5  # GRPO steps between probe runs (SFT: a quarter of its steps)
    probe_samples: int = 4
    scaled_proofs: int = 96  # generator-written held-out proofs for scaled verification
    scaled_samples: int = 16  # verifications per proof; smaller n are prefixes
    # The temperature of those verifications and of their meta-verifications (top-p 1). At 1
    # the six-stage recipe verifier's samples are weaker than its greedy analysis and label
    # precision at (n, 1, 1) falls with n; at 0.6 it rises (`v2_label_temperature.py`,
    # RESULTS.md, 2026-12-07).
    label_temperature: float = 0.6
    generator_problems: int = 8000
    generator_sft_steps: int = 400  # stopped early: validity well below what SFT reaches
    # Exact-reward GRPO from seed 0's SFT generator, sampled validity 10.2% at the start:
    # 40 steps at 2e-4 gave 8.5%, 80 at 1e-4 13.3%, 160 at 1e-4 15.8% (RESULTS.md). 80 keep
    # the judge-rewarded run near 550 s a seed (about 4.6 s a step in verification).
    generator_grpo_steps: int = 80
    grpo_batch: int = 64  # completions per step: batch / generations prompts
    generations: int = 8
    generator_grpo_lr: float = 1e-4
    # One greedy verification per judged proof, in place of two sampled ones; alone it did
    # not make the judge-rewarded run faster (7-11 s a step in verification, RESULTS.md).
    # Greedy, the judge generates each distinct proof of a step once (54-59% of them).
    judge_samples: int = 1
    judge_temperature: float = 0.0
    # A verification that credits a proof but misquotes its lines (or that credits a text
    # outside the toy language) scores 0 (`--quote-check`,
    # `toyworld.analysis.quotes_faithfully`): the verifier's commonest false pass is a copy
    # slip, the line it expected written where the proof's wrong line belongs.
    quote_check: bool = False
    # With the quote check, a proof whose one verification misquotes it, crediting it or
    # finding an issue, is verified again this many times at T 0.6, and the faithful
    # retries score it (`--judge-retries`, `rewards.JudgeConfig.retries`): two thirds of the
    # correct proofs the quote-checked judge failed rest on a misquote (`v2_false_passes.py
    # --misjudged`, RESULTS.md).
    judge_retries: int = 0
    # Pairs of GRPO runs (verifier reward, exact reward) per start, each pair at its own GRPO
    # seed (`--grpo-seeds`): from one start the exact reward alone gains +4.1 to +6.5 points
    # by GRPO seed (`v2_generator_grpo.py --grpo-seeds`), so one pair's fraction is mostly
    # where its two runs landed; the fraction is then mean gain over mean gain.
    grpo_seeds: int = 1
    # True validity on 400 held-out problems, 4 samples each. On 100 problems the same
    # exact-reward policy measured 12.0% on one verifier's held-out set and 16.2% on another's
    # (a gain of +3.8 or +8.2 points, from one start): the problems, not the samples, set
    # most of a gain's error, so a paired standard error over problems is printed with it.
    validity_problems: int = 400
    validity_samples: int = 4
    validity_pool: int = 1000  # draws they come from: the toy recipes' `reserve_problems`
    judged_proofs: int = 400  # the judge's mean score is taken over the first sampled proofs
    verification_tokens: int = 448  # as v2_verifier_curve.py measures (was 400)
    generation_tokens: int = 160
    test_time_problems: int = 24
    test_time_budgets: tuple[tuple[int, int, int], ...] = ((2, 2, 1), (8, 2, 1))  # (P, V, R)


QUICK = Settings(
    copy_steps=50,
    verifier_proofs=1000,
    meta_records=200,
    heldout_proofs=40,
    verifier_sft_steps=30,
    verifier_grpo_steps=2,
    probe_every=2,
    probe_samples=1,
    scaled_proofs=12,
    scaled_samples=4,
    generator_problems=500,
    generator_sft_steps=30,
    generator_grpo_steps=2,
    grpo_batch=16,
    validity_problems=12,
    validity_samples=2,
    validity_pool=120,
    judged_proofs=24,
    verification_tokens=96,
    generation_tokens=96,
    test_time_problems=4,
    test_time_budgets=((2, 1, 1),),
)


# --- Report ---------------------------------------------------------------------------------


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
          f"probes and verifier_train.v2.probes' {len(GENERIC_PROBES)} generic ones, all of true "
          "score 0:")  # fmt: skip
    print("phase  step  toy-world  generic")
    for p in v.probes:
        print(f"{p.phase:<5}  {p.step:>4}  {pct(p.toy):>9}  {pct(p.generic):>7}")


def print_scaled(sc: scaled.Scaled) -> None:
    labels = ", ".join(f"{k}: {v}" for k, v in sc.labels.items())
    print(f"\n== 2. Scaled verification: {sc.proofs} proofs written by the SFT generator on "
          f"held-out problems (exact labels {labels}) ==")  # fmt: skip
    by = ", ".join(f"label {k} {pct(v).strip()}" for k, v in sc.greedy_by_label.items())
    print(f"greedy accuracy {sc.greedy:.1%} ({by})")
    grid = sorted(sc.majority)
    print("samples n          " + "".join(f"{n:>8}" for n in grid))
    for name, acc in (("majority of n", sc.majority), ("mean of n", sc.mean)):
        print(f"{name:<18} " + "".join(f"{acc[n]:8.1%}" for n in grid))
    print("auto-labelling (published rules; n analyses, m meta-verifications, k valid):")
    print("   n   m   k  labelled  coverage  precision")
    for r in sc.grid:
        print(f"{r['n']:4d}{r['m']:4d}{r['k']:4d}  {r['labelled']:8d}  {r['coverage']:8.1%}"
              f"  {pct(r['precision']):>9}")  # fmt: skip
    print(f"  time {sc.seconds:.0f} s")


def print_test_time(t: stages.TestTime) -> None:
    print("\n== 4. Test-time loop (prover.loop.Loop, SFT generator, trained verifier): exact "
          "validity ==")  # fmt: skip
    print("   P   V   R  single sample  best of pool")
    for r in t.budgets:
        print(f"{r['P']:4d}{r['V']:4d}{r['R']:4d}  {r['single']:13.1%}  {r['best']:12.1%}")
    print(f"  time {t.seconds:.0f} s")


def print_times(walls: dict[str, float], clocks: dict[str, train.Clock], total: float) -> None:
    print("\n== Time (wall seconds; the stages of a phase shared the workers) ==")
    for name, seconds in walls.items():
        print(f"{name:<48} {seconds:6.0f} s")
    print(f"{'total wall time':<48} {total:6.0f} s")
    print("\nGRPO time split, seconds over all steps (per step in brackets):")
    w = max([27, *map(len, clocks)])
    print(f"{'run':<{w}} steps     generation   verification         update  probes")
    for name, clock in clocks.items():
        t, n = clock.totals(), max(len(clock.step), 1)
        cells = "  ".join(
            f"{t[k]:6.0f} ({t[k] / n:5.2f})" for k in ("generation", "verification", "update")
        )
        print(f"{name:<{w}} {len(clock.step):>5}  {cells}  {t['probes']:6.0f}")
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


def given_verifier(verifier: Path, option: str = "--verifier") -> frozenset[str]:
    """The training problems of a given verifier (its `training_problems.json`, a list),
    which the held-out sets must leave out; exits with one line, before any work, when the
    directory holds no model or the list cannot be read."""
    if not (verifier / "config.json").is_file():
        raise SystemExit(f"error: {option} {verifier} holds no model (no config.json)")
    listed = verifier / "training_problems.json"
    try:
        problems = json.loads(listed.read_text())
    except (OSError, ValueError) as err:
        raise SystemExit(f"error: {option} needs {listed} (its training problems): {err}") from None
    if not isinstance(problems, list) or not all(isinstance(p, str) for p in problems):
        raise SystemExit(f"error: {listed} must be a JSON list of problem texts")
    return frozenset(problems)


def header(job: Job, args: argparse.Namespace) -> None:
    s, load = job.settings, " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"toy world: families {', '.join(job.world.families)}, correct proofs <= "
          f"{job.world.max_chars} chars; seed {job.seed}; {args.workers} worker processes x "
          f"{args.threads} torch thread; CPUs {os.cpu_count()}; load average {load}")  # fmt: skip
    sft = f"{s.verifier_sft_steps} x {s.sft_batch}" if job.verifier is None else "given"
    print(f"model: char-level Llama, hidden 128, 4 layers; copy warm-up {s.copy_steps} x "
          f"{s.sft_batch}; SFT lr {s.sft_lr:g}\nverifier: {s.verifier_proofs} proofs + "
          f"{s.meta_records} meta records ({s.meta_form}), SFT {sft}, GRPO "
          f"{s.verifier_grpo_steps} x {s.grpo_batch} (G {s.generations}, lr "
          f"{s.verifier_grpo_lr:g})\ngenerator: {s.generator_problems} problems, SFT "
          f"{s.generator_sft_steps} x {s.sft_batch}, GRPO {s.generator_grpo_steps} x "
          f"{s.grpo_batch} (G {s.generations}, lr {s.generator_grpo_lr:g}, beta 0.04, judge "
          f"samples {s.judge_samples} at T {s.judge_temperature:g}"
          f"{', quote-checked' if s.quote_check else ''}"
          f"{f', {s.judge_retries} retries' if s.judge_retries else ''})\nscaled verification: "
          f"{s.scaled_samples} analyses per proof at T {s.label_temperature:g}",
          flush=True)  # fmt: skip
    if job.verifier:
        print(
            f"verifier SFT replaced by the given {job.verifier} (its {len(job.seen)} training "
            "problems left out of every held-out set; its training time is not counted)"
        )


@dataclass
class SeedResult:
    """Everything one seed measured, for its report and the summary."""

    seed: int
    verifier: VerifierRun
    scaled: scaled.Scaled
    start: GeneratorStart
    runs: list[GeneratorRun]
    test_time: stages.TestTime
    walls: dict[str, float]
    seconds: float


def phase_one(job: Job, pool: ProcessPoolExecutor, walls: dict[str, float]):
    """The warm-up, then the verifier and the generator's SFT side by side: (verifier run,
    generator start). A given verifier needs no warm-up, so it trains beside it."""
    given = job.verifier is not None
    verifier = pool.submit(stages.verifier_stage, job, None) if given else None
    base, walls["0. copy warm-up"] = pool.submit(stages.copy_stage, job).result()
    verifier = verifier or pool.submit(stages.verifier_stage, job, base)
    generator = pool.submit(stages.generator_sft, job, base)
    return verifier.result(), generator.result()


def run(job: Job, pool: ProcessPoolExecutor) -> SeedResult:
    """The phases of one seed; the jobs of a phase share the workers (they are independent)."""
    walls: dict[str, float] = {}
    start = mark = time.perf_counter()
    v, gen = phase_one(job, pool, walls)
    walls["1. verifier SFT (probe runs included)"] = v.sft_s
    walls["1. verifier GRPO (probe runs included)"] = v.grpo_s
    walls["1. generator SFT"] = gen.sft_s
    walls["1. generator measurement"] = gen.measure_s
    walls["1. phase 1 (0. and the above, two side by side)"] = time.perf_counter() - mark
    # The jobs below need only phase 1's models, so they share the two workers in this order:
    # scaled verification and the judge-rewarded GRPO runs (the longest) first, then the
    # exact-rewarded runs and the test-time loop on whichever worker is free. Two phases of
    # two jobs each took the longest of each pair.
    mark, grpo = time.perf_counter(), stages.generator_grpo
    found = pool.submit(stages.scaled_stage, job, v.path, list(gen.validity.proofs))
    seeds = range(job.settings.grpo_seeds)
    judged = [pool.submit(grpo, job, "verifier", gen, v.path, False, g) for g in seeds]
    exact = [pool.submit(grpo, job, "exact", gen, v.path, False, g) for g in seeds]
    loop = pool.submit(stages.test_time_stage, job, gen.path, v.path, gen.heldout)
    sc, test_time = found.result(), loop.result()
    runs = [f.result() for pair in zip(judged, exact, strict=True) for f in pair]
    walls["2. scaled verification and labels"] = sc.seconds
    walls |= {f"2. generator GRPO, {label(g)}": g.seconds for g in runs}
    walls["2. test-time loop"] = test_time.seconds
    walls[f"2. phase 2 ({len(runs) + 2} jobs on two workers)"] = time.perf_counter() - mark
    seconds = time.perf_counter() - start
    return SeedResult(job.seed, v, sc, gen, runs, test_time, walls, seconds)


def write_misjudged(path: Path, r: SeedResult) -> None:
    """Append the seed's misjudged training proofs to `path`, one JSON object a line."""
    with path.open("a") as f:
        for m in (m for g in r.runs for m in g.misjudged):
            f.write(json.dumps({"seed": r.seed} | asdict(m)) + "\n")


def report(r: SeedResult, s: Settings) -> None:
    print(f"\n######## seed {r.seed} ########")
    print_verifier(r.verifier, s)
    print_scaled(r.scaled)
    print_generator(r.start, r.runs, s)
    print_test_time(r.test_time)
    clocks = {"verifier": r.verifier.clock}
    clocks |= {f"generator, {label(g)}": g.clock for g in r.runs}
    print_times(r.walls, clocks, r.seconds)
    for g in (g for g in r.runs if g.distinct and g.distinct[0]):
        asked, generated = g.distinct  # asked > 0: filtered above
        print(f"the judge verified {generated} distinct proofs of the {asked} it was given "
              f"({generated / asked:.1%}; greedy, so a repeat is generated once)")  # fmt: skip
    for g in (g for g in r.runs if g.tally):
        print(f"-- the judge of the {label(g)} run:")
        print_credit(credit(g.tally))
        kinds = ", ".join(f"{k} {n}" for k, n in (g.passed_wrong or {}).items())
        print(f"  the wrong proofs it passed, by what makes them wrong: {kinds}")
        if s.quote_check:
            print(f"the quote check scored 0 {g.unfaithful} verifications that credited a "
                  f"proof they misquoted")  # fmt: skip
        if s.judge_retries:
            print(f"{g.retried[0]} proofs misquoted were verified again, {g.retried[1]} of "
                  f"them scored by a faithful retry")  # fmt: skip


def credit(tally: dict[tuple[float, float | None], int]) -> dict[str, float | None]:
    """What the judge paid for in the verifier-rewarded GRPO run, by exact label: the share of
    its credit (sum of R_proof) given to wrong proofs, the shares of wrong proofs it passed
    (1) or half-credited (0.5), of correct proofs it scored below 1, and of unreadable ones."""

    def count(exact=None, judged=lambda j: True) -> int:
        return sum(n for (e, j), n in tally.items() if exact in (None, e) and judged(j))

    paid = sum((j or 0.0) * n for (e, j), n in tally.items())
    wrong_paid = sum((j or 0.0) * n for (e, j), n in tally.items() if e == 0.0)
    wrong, right, total = count(0.0), count(1.0), count()
    return {
        "proofs": total,
        "correct": count(1.0) / total if total else None,
        "credit_to_wrong": wrong_paid / paid if paid else None,
        "wrong_passed": count(0.0, lambda j: j == 1.0) / wrong if wrong else None,
        "wrong_half": count(0.0, lambda j: j == 0.5) / wrong if wrong else None,
        "correct_missed": count(1.0, lambda j: j != 1.0) / right if right else None,
        "unreadable": count(None, lambda j: j is None) / total if total else None,
    }


def print_credit(c: dict[str, float | None]) -> None:
    f = {k: pct(v).strip() for k, v in c.items()}
    print(f"the judge in verifier-rewarded GRPO: {c['proofs']} proofs, {f['correct']} correct; "
          f"{f['credit_to_wrong']} of its credit went to wrong proofs (it passed "
          f"{f['wrong_passed']} of them and half-credited {f['wrong_half']}); correct proofs "
          f"scored below 1: {f['correct_missed']}; unreadable: {f['unreadable']}")  # fmt: skip


# --- Summary over seeds ---------------------------------------------------------------------


def summary(r: SeedResult) -> dict:
    """The machine-readable figures of one seed (the keys the issue names, and a few more)."""
    best = scaled.best_label_row(r.scaled.grid)
    judged = [g for g in r.runs if g.tally]
    # The trained verifier: every probe run of its GRPO stage (SFT's early runs probe a model
    # that cannot write an analysis yet; they are printed in the report, not summarised).
    probes = [
        x for p in r.verifier.probes if p.phase == "GRPO" for x in (p.toy, p.generic)
        if x is not None
    ]  # fmt: skip
    last = r.test_time.budgets[-1]
    by_class = {f"label_{k}": v for k, v in r.scaled.greedy_by_label.items()}
    by_class |= {f"planted_{k}": v for k, v in r.verifier.grpo.by_kind.items()}
    return {
        "verifier_accuracy": r.scaled.greedy,
        "verifier_accuracy_by_class": by_class,
        "verifier_accuracy_planted": r.verifier.grpo.accuracy,
        "verifier_accuracy_majority_by_n": r.scaled.majority,
        "verifier_accuracy_mean_by_n": r.scaled.mean,
        "label_precision": best and best["precision"],
        "label_coverage": best and best["coverage"],
        "label_budget": best and [best["n"], best["m"], best["k"]],
        "label_precision_by_n": scaled.precision_by_n(r.scaled.grid),
        **gain_figures(r.start, r.runs),
        "probe_false_positive_max": max(probes, default=None),
        "judge_training_credit": credit(sum((Counter(g.tally) for g in judged), Counter()))
        if judged
        else None,
        "judge_passed_wrong": {
            k: sum((g.passed_wrong or {}).get(k, 0) for g in judged) for k in stages.WRONG_KINDS
        }
        if judged
        else None,
        "test_time_single": last["single"],
        "test_time_best": last["best"],
        "seconds": r.seconds,
    }


def mean_of(values: list):
    """The mean of numbers (None left out), key by key for dicts; None when nothing is left."""
    if values and isinstance(values[0], dict):
        return {k: mean_of([v.get(k) for v in values]) for k in values[0]}
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return sum(numbers) / len(numbers) if numbers else None


def combined(summaries: list[dict], seconds: float) -> dict:
    """Means over seeds, the per-seed gain fractions, and the whole run's time."""
    out = {k: mean_of([s[k] for s in summaries]) for k in summaries[0] if k != "label_budget"}
    out["label_budget_by_seed"] = [s["label_budget"] for s in summaries]
    out["gain_fraction_by_seed"] = [s["gain_fraction"] for s in summaries]
    out["gain_fraction_by_grpo_seed"] = [s["gain_fraction_by_grpo_seed"] for s in summaries]
    out["runs_alike"] = [s["runs_alike"] for s in summaries]
    out["seconds"] = round(seconds, 1)
    out["seeds"] = len(summaries)
    return out


def print_spread(summaries: list[dict]) -> None:
    print(f"\n######## {len(summaries)} seeds: mean [min, max] ########")
    rows = {
        "verifier accuracy, generator proofs (greedy)": lambda s: s["verifier_accuracy"],
        "verifier accuracy, planted proofs (greedy)": lambda s: s["verifier_accuracy_planted"],
        "label precision (best budget, coverage>=50%)": lambda s: s["label_precision"],
        "label coverage (that budget)": lambda s: s["label_coverage"],
        "gain fraction (verifier / exact reward)": lambda s: s["gain_fraction"],
        "probe false-positive rate, max (verifier GRPO)": lambda s: s["probe_false_positive_max"],
        "test-time single sample": lambda s: s["test_time_single"],
        "test-time best of pool": lambda s: s["test_time_best"],
    }
    for name, get in rows.items():
        values = [v for v in map(get, summaries) if v is not None]
        if not values:
            print(f"{name:<46} n/a")
            continue
        mean = sum(values) / len(values)
        print(f"{name:<46} {mean:7.3f} [{min(values):.3f}, {max(values):.3f}]")
    classes = summaries[0]["verifier_accuracy_by_class"]
    for k in classes:
        values = [s["verifier_accuracy_by_class"][k] for s in summaries]
        values = [v for v in values if v is not None]
        if not values:
            print(f"  accuracy, {k:<36} n/a (no such proofs)")
            continue
        shown = f"{sum(values) / len(values):7.3f} [{min(values):.3f}, {max(values):.3f}]"
        print(f"  accuracy, {k:<36} {shown}")


def seed_list(parser: argparse.ArgumentParser, option: str, text: str | None, default: str,
              example: str = "0,1,2") -> list[int]:  # fmt: skip
    """Comma-separated integers (`default` when `text` is None); a malformed list stops with
    one usage error line."""
    try:
        return [int(x) for x in (text or default).split(",")]
    except ValueError:
        parser.error(f"{option} {text!r}: give integers, comma-separated ({example})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    parser.add_argument("--seeds", help="comma-separated seeds (default 0,1,2; --quick: 0)")
    parser.add_argument("--workers", type=int, default=2, choices=(1, 2))
    parser.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    parser.add_argument("--families", default="linear", help="toy-world families, comma-separated")
    parser.add_argument("--verifier", type=Path, help="a trained verifier to start from (no SFT)")
    parser.add_argument("--meta-form", choices=analysis.META_FORMS, default="sentence",
                        help="meta answers the verifier is trained on (toyworld.data)")  # fmt: skip
    parser.add_argument("--label-temperature", type=float, default=Settings.label_temperature,
                        help="sampling temperature of scaled verification's analyses")  # fmt: skip
    parser.add_argument("--quote-check", action="store_true",
                        help="the generator's judge scores 0 a pass whose analysis misquotes "
                        "the proof, or of a text outside the toy language")  # fmt: skip
    parser.add_argument("--judge-retries", type=int, default=0, metavar="N",
                        help="with --quote-check: verify a proof the judge misquoted again, N "
                        "samples at T 0.6, and score it by the faithful ones")  # fmt: skip
    parser.add_argument("--grpo-seeds", type=int, default=1, metavar="K",
                        help="pairs of generator GRPO runs (verifier, exact reward) per seed, "
                        "each pair at its own GRPO seed; the gain fraction is mean gain over "
                        "mean gain")  # fmt: skip
    parser.add_argument("--misjudged", type=Path, metavar="FILE",
                        help="write the training proofs the generator's judge scored off their "
                        "exact label here (JSONL, each seed as it ends; v2_false_passes.py "
                        "--misjudged reads it)")  # fmt: skip
    args = parser.parse_args()
    seeds = seed_list(parser, "--seeds", args.seeds, "0" if args.quick else "0,1,2")
    if args.judge_retries < 0 or (args.judge_retries and not args.quote_check):
        parser.error(f"--judge-retries {args.judge_retries}: give 0 or more, with --quote-check")
    if args.grpo_seeds < 1:
        parser.error(f"--grpo-seeds {args.grpo_seeds}: give 1 or more")
    if args.label_temperature < 0:
        parser.error(f"--label-temperature {args.label_temperature:g}: give 0 or more")
    seen = given_verifier(args.verifier) if args.verifier else frozenset()
    templates = data.load_templates()
    world = data.World(families=tuple(args.families.split(",")))
    settings = replace(QUICK if args.quick else Settings(), meta_form=args.meta_form,
                       label_temperature=args.label_temperature,
                       quote_check=args.quote_check,
                       judge_retries=args.judge_retries,
                       grpo_seeds=args.grpo_seeds)  # fmt: skip
    import multiprocessing

    context = multiprocessing.get_context("spawn")  # no forked torch state in the workers
    start, summaries = time.perf_counter(), []
    if args.misjudged:
        try:  # before any work: an unwritable path is one line
            args.misjudged.write_text("")
        except OSError as exc:
            parser.error(f"--misjudged {args.misjudged}: {exc.strerror}")
    with tempfile.TemporaryDirectory() as tmp:
        with ProcessPoolExecutor(args.workers, context, init_worker, (args.threads,)) as pool:
            for seed in seeds:
                words = tuple(data.vocabulary_words(templates))
                job = Job(world, settings, seed, Path(tmp) / f"seed-{seed}", words,
                          args.verifier and args.verifier.resolve(), seen)  # fmt: skip
                header(job, args)
                result = run(job, pool)
                report(result, settings)
                if args.misjudged:
                    write_misjudged(args.misjudged, result)
                summaries.append(summary(result))
    print_spread(summaries)
    out = combined(summaries, time.perf_counter() - start)
    out["verifier_given"] = args.verifier and str(args.verifier)
    out["quote_check"] = settings.quote_check
    out["judge_retries"] = settings.judge_retries
    out["grpo_seeds"] = settings.grpo_seeds
    print(json.dumps(out))


if __name__ == "__main__":
    main()
