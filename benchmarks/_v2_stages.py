"""The stages of the DeepSeekMath-V2 learning check, each a function of a `Job` that a worker
process runs: the copy warm-up, the verifier (SFT, GRPO, measurements, probes), auto-labelling,
the generator's SFT, and one generator GRPO run (verifier reward or exact reward).

Each returns plain picklable results (paths, scores, timings) for the report. The training is
the project's: `verifier_train.v2.stages.verifier_trainer` / `generator_trainer` /
`grpo_trainer`, `v2.rewards.Judge` and `generator_reward`, `toyworld.ExactJudge`,
`probes.ProbeCallback`, `autolabel.AutoLabeler`. This module does not choose sizes or print
the report (only one progress line per stage).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _v2_data as data
import _v2_scaled as scaled
import _v2_train as train

from prover.backends.base import Sampling
from prover.backends.hf import HFBackend
from verifier_train.grpo import GRPORecipe
from verifier_train.v2 import toy_prover
from verifier_train.v2.toy_generator import toy_grpo_recipe
from verifier_train.v2.toyworld import analysis, generator_problems

TRAIN_SEED, HELDOUT_SEED = 0, 10**6  # data seeds; held-out problems are also deduplicated
# Held-out sets are drawn from a pool this many times larger, minus the problems seen in
# training: draws repeat linear problems (20,000 draws give about 10,000 distinct ones).
POOL = 10
HIDDEN, LAYERS = 128, 4  # the char-level Llama's sizes


@dataclass(frozen=True)
class Job:
    """What every stage needs: the world, the sizes (`Settings` of the script), the seed, a
    scratch directory and the tokenizer's whole-token phrases."""

    world: data.World
    settings: Any
    seed: int
    tmp: Path
    words: tuple[str, ...]
    verifier: Path | None = None  # a trained verifier to start from instead of its SFT
    seen: frozenset[str] = frozenset()  # that verifier's training problems

    def held_out(self, rows: list[dict], trained: list[dict]) -> list[dict]:
        """The rows whose problem is in neither `trained` nor the given verifier's training."""
        return [r for r in data.unseen(rows, trained) if r["problem"] not in self.seen]


@dataclass
class Probe:
    """One probe run: when, and the false-positive rate of each probe set (None: nothing
    readable)."""

    phase: str
    step: int
    toy: float | None
    generic: float | None


@dataclass
class VerifierRun:
    path: Path
    heldout: list[dict]
    train_labels: Counter
    sft: train.VerifierScores
    grpo: train.VerifierScores
    probes: list[Probe]
    sft_s: float
    grpo_s: float
    clock: train.Clock
    rewards: tuple[float | None, float | None]  # mean GRPO reward, first and last steps
    toy_probes: int = 0  # how many toy-world probes were run


@dataclass
class GeneratorStart:
    path: Path
    problems: list[str]
    heldout: list[str]
    sft_s: float
    validity: train.Validity
    measure_s: float


@dataclass(frozen=True)
class Misjudged:
    """A training proof the generator's judge scored off its exact label."""

    problem: str
    proof: str
    score: float  # the exact label
    judged: float | None  # the judge's R_proof


@dataclass
class GeneratorRun:
    name: str
    validity: train.Validity
    judged: float | None  # the judge's mean score of the sampled proofs after training
    seconds: float
    clock: train.Clock = field(default_factory=train.Clock)
    rewards: tuple[float | None, float | None] = (None, None)
    judged_start: float | None = None  # the same for the SFT start (exact-reward worker only)
    distinct: tuple[int, int] | None = None  # the judge's (proofs, distinct ones) in training
    # The judge's R_proof of each training proof against its exact label (verifier reward
    # only): {(exact label, judged score or None): count}
    tally: dict[tuple[float, float | None], int] | None = None
    unfaithful: int = 0  # crediting verifications the quote check scored 0 in training
    retried: tuple[int, int] = (0, 0)  # (proofs verified again, those a faithful retry scored)
    grpo_seed: int = 0  # its GRPO seed's index (`grpo_seed_of`); validity is always sampled alike
    passed_wrong: dict[str, int] | None = None  # the wrong proofs it passed, by `wrong_kind`
    misjudged: tuple[Misjudged, ...] = ()  # the training proofs it scored off their label


WRONG_KINDS = ("false step", "false conclusion", "unreadable", "no valid step")


def wrong_kind(verdict: Any) -> str:
    """What makes a proof of exact label 0 wrong (WRONG_KINDS), from its `ToyVerdict`."""
    if not verdict.steps:
        return WRONG_KINDS[2]
    if "false" in verdict.steps:
        return WRONG_KINDS[0]
    return WRONG_KINDS[1] if verdict.conclusion == "false" else WRONG_KINDS[3]


class TalliedJudge:
    """The trained judge, tallying each R_proof it gives in training against the proof's
    exact label (`check_proof`): what the verifier-rewarded policy was actually paid for."""

    def __init__(self, judge: Any):
        self.judge, self.tally = judge, Counter()
        self.passed_wrong = Counter(dict.fromkeys(WRONG_KINDS, 0))
        self.misjudged: list[Misjudged] = []

    def __getattr__(self, name: str) -> Any:  # backend, asked, generated: the judge's own
        return getattr(self.judge, name)

    def verify(self, pairs: list[tuple[str, str]]) -> list[float | None]:
        from verifier_train.v2.toyworld import check_proof

        scores = self.judge.verify(pairs)
        for (problem, proof), score in zip(pairs, scores, strict=True):
            verdict = check_proof(problem, proof)
            self.tally[(verdict.score, score)] += 1
            if verdict.score == 0.0 and score == 1.0:
                self.passed_wrong[wrong_kind(verdict)] += 1
            if score != verdict.score:
                self.misjudged.append(Misjudged(problem, proof, verdict.score, score))
        return scores


class ExactInPlace:
    """The trained judge with the exact checker giving its R_proof: the verifier-reward run's
    code path (its judge's probe runs, its tally) with the exact reward's values. Sharing
    the exact-reward run's random stream, it must land where that run lands; where it does
    not, the difference is the path's, not the judge's (`v2_generator_grpo.py --judge-path`)."""

    def __init__(self, judge: Any):
        from verifier_train.v2.toyworld import ExactJudge

        self.judge, self.exact = judge, ExactJudge()

    def __getattr__(self, name: str) -> Any:  # backend (for the probes), asked, ...
        return getattr(self.judge, name)

    def verify(self, pairs: list[tuple[str, str]]) -> list[float | None]:
        return self.exact.verify(pairs)


def grpo_recipe(s: Any, seed: int, steps: int, lr: float, tokens: int,
                reseed: bool = False) -> GRPORecipe:  # fmt: skip
    """DeepSeekMath's GRPO objective (beta 0.04, loss "grpo") at tiny sizes, on the CPU."""
    return toy_grpo_recipe(s.generations, s.grpo_batch, lr, tokens, steps, seed, reseed)


def reward_ends(out: Path, key: str = "reward", width: int = 3):
    """Mean logged GRPO reward over the first and the last `width` steps."""
    from prover.rundir import read_jsonl

    values = [r[key] for r in read_jsonl(out / "metrics.jsonl") if r.get(key) is not None]
    if not values:
        return None, None
    width = min(width, len(values))
    return sum(values[:width]) / width, sum(values[-width:]) / width


# --- 0. The copy warm-up --------------------------------------------------------------------


def copy_stage(job: Job) -> tuple[Path, float]:
    """(the warmed-up base model shared by verifier and generator, seconds)."""
    s, start = job.settings, time.perf_counter()
    sizes = (HIDDEN, LAYERS, s.copy_steps, s.sft_batch)
    path = toy_prover.warm_up(job.tmp, job.words, *sizes, s.sft_lr, job.seed)
    return path, time.perf_counter() - start


# --- 1. The verifier ------------------------------------------------------------------------


def probe_callbacks(job: Job, problems: list[str], every: int):
    """(toy-world, generic) probe callbacks probing the model being trained."""
    from verifier_train.v2.probes import ProbeCallback
    from verifier_train.v2.stages import ProbeConfig, probe_callback

    s, templates = job.settings, data.load_templates()
    sampling = Sampling(1.0, 1.0, s.verification_tokens)
    pairs = data.toy_probes(job.world)
    toy = ProbeCallback(templates, pairs, every, None, s.probe_samples, sampling)
    config = ProbeConfig(every, s.probe_samples, s.verification_tokens)
    return toy, probe_callback(problems, templates, config)


def probe_history(phase: str, toy, generic) -> list[Probe]:
    """The probe runs of one training phase, both probe sets side by side by step."""
    rates = {h["step"]: h["probe/false_positive_rate"] for h in generic.history}
    return [
        Probe(phase, h["step"], h["probe/false_positive_rate"], rates.get(h["step"]))
        for h in toy.history
    ]


def verifier_stage(job: Job, base: Path | None) -> VerifierRun:
    """SFT (verification + meta-verification) from `base`, or the given trained verifier
    (`job.verifier`, with no `base`), then verifier GRPO, measured after each on planted
    held-out proofs."""
    s, templates = job.settings, data.load_templates()
    with analysis.written(meta=s.meta_form):
        rows = data.verifier_data(s.verifier_proofs, TRAIN_SEED, job.world, data.TRAIN_MIX)
        metas = data.meta_data(s.meta_records, TRAIN_SEED + 1, job.world)
    heldout = data.verifier_data(POOL * s.heldout_proofs, HELDOUT_SEED, job.world)
    heldout = job.held_out(heldout, rows)[: s.heldout_proofs]
    probes = probe_callbacks(job, [r["problem"] for r in rows], max(1, s.verifier_sft_steps // 4))
    start = time.perf_counter()
    if job.verifier is None:
        sft_rows = data.verifier_sft_rows(rows, metas, templates)
        sft_path = train.sft(base, sft_rows, s.verifier_sft_steps, s.sft_batch, s.sft_lr,
                             job.seed, job.tmp / "verifier-sft", probes)  # fmt: skip
    else:
        sft_path = job.verifier
    sft_s = time.perf_counter() - start
    sft_scores = measure_verifier(train.load(sft_path), heldout, s)
    print(f"  verifier SFT: {sft_s:.0f} s, held-out accuracy {sft_scores.accuracy:.1%}", flush=True)
    trainer, clock, grpo_s, grpo_probes = verifier_grpo(job, sft_path, rows, metas)
    trainer.model.eval()
    backend = HFBackend.from_loaded(trainer.model, trainer.processing_class, train.EVAL_BATCH)
    grpo_scores = measure_verifier(backend, heldout, s)
    trainer.save_model(str(job.tmp / "verifier"))
    print(f"  verifier GRPO: {grpo_s:.0f} s, held-out accuracy {grpo_scores.accuracy:.1%}",
          flush=True)  # fmt: skip
    run = VerifierRun(job.tmp / "verifier", heldout, Counter(r["score"] for r in rows),
                      sft_scores, grpo_scores, probe_history("SFT", *probes) + grpo_probes,
                      sft_s, grpo_s, clock, reward_ends(job.tmp / "verifier-grpo"),
                      len(data.toy_probes(job.world)))  # fmt: skip
    return run


def measure_verifier(backend, heldout: list[dict], s: Any) -> train.VerifierScores:
    return train.verifier_scores(backend, data.load_templates(), heldout, s.verification_tokens)


def verifier_grpo(job: Job, sft_path: Path, rows: list[dict], metas: list[dict]):
    """`v2.stages.verifier_trainer` (joint with the meta rows) from the SFT model, probed:
    (trainer, clock, seconds, probe history)."""
    from verifier_train.v2.stages import ProbeConfig, verifier_trainer

    s = job.settings
    recipe = grpo_recipe(s, job.seed, s.verifier_grpo_steps, s.verifier_grpo_lr,
                         s.verification_tokens)  # fmt: skip
    graded = [{k: r[k] for k in ("problem", "proof", "score")} for r in rows]
    judged = [{k: m[k] for k in ("problem", "proof", "analysis", "meta_score")} for m in metas]
    config = ProbeConfig(s.probe_every, s.probe_samples, s.verification_tokens)
    trainer, _ = verifier_trainer(str(sft_path), graded, judged, recipe,
                                  job.tmp / "verifier-grpo", data.load_templates(), None,
                                  config, **train.GRPO_QUIET)  # fmt: skip
    generic = train.probe_callbacks_of(trainer)[0]
    toy, _ = probe_callbacks(job, [r["problem"] for r in rows], s.probe_every)
    trainer.add_callback(toy)
    clock = train.instrument(trainer, train.Clock())
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    return trainer, clock, seconds, probe_history("GRPO", toy, generic)


# --- 2. Scaled verification and test-time scaling ------------------------------------------


def scaled_stage(job: Job, verifier: Path, pairs: list[tuple[str, str]]) -> scaled.Scaled:
    """Greedy and scaled verification, and the label grid, on generator-written proofs."""
    s, templates = job.settings, data.load_templates()
    start = time.perf_counter()
    proofs = scaled.generated_proofs(pairs)[: s.scaled_proofs]
    backend = train.load(verifier)
    once = scaled.greedy(backend, templates, proofs, s.verification_tokens)
    right = [r["score"] == p.label for r, p in zip(once, proofs, strict=True)]
    sampling = Sampling(s.label_temperature, 1.0, s.verification_tokens, seed=job.seed)
    out = scaled.Scaled(
        len(proofs),
        {scaled.key(v): sum(p.label == v for p in proofs) for v in scaled.LEVELS},
        sum(right) / max(len(proofs), 1),
        scaled.by_label(right, proofs),
        *scaled.sampled(backend, templates, proofs, s.scaled_samples, sampling),
    )
    out.seconds = time.perf_counter() - start
    print(f"  scaled verification: {out.seconds:.0f} s, greedy accuracy on generator proofs "
          f"{out.greedy:.1%}", flush=True)  # fmt: skip
    return out


@dataclass
class TestTime:
    """Per (P, V, R) budget: the exact validity of single samples and of the best proof."""

    budgets: list[dict]
    seconds: float


def test_time_stage(job: Job, generator: Path, verifier: Path, problems: list[str]) -> TestTime:
    """`prover.loop.Loop` (what `prover solve` runs) on held-out problems: P proofs, V
    verifications each, R refinement rounds; the pool's best proof against a single sample."""
    from prover.loop import Loop, LoopConfig
    from prover.pool import best
    from prover.rundir import RunDir
    from verifier_train.v2.toyworld import check_proof

    s, start = job.settings, time.perf_counter()
    gen, ver = train.load(generator), train.load(verifier)
    wanted = {f"t{i}": text for i, text in enumerate(problems[: s.test_time_problems])}
    rows = []
    for p, v, r in s.test_time_budgets:
        config = LoopConfig(p, v, 1, r, max_analyses=1,
                            generation=Sampling(1.0, 1.0, s.generation_tokens, seed=job.seed),
                            verification=Sampling(1.0, 1.0, s.verification_tokens,
                                                  seed=job.seed))  # fmt: skip
        loop = Loop(gen, ver, config, RunDir(job.tmp / f"solve-{p}-{v}-{r}", {}),
                    data.load_templates())  # fmt: skip
        loop.solve(wanted)
        proofs = [x for x in loop.run.records("proofs") if x["round"] == 0]
        single = [check_proof(wanted[x["problem"]], x["solution"]).score == 1.0 for x in proofs]
        pools = loop.pools()
        chosen = [best(pools.get(pid, [])) for pid in wanted]
        valid = [c is not None and check_proof(wanted[c.proof.problem],
                                               c.proof.solution).score == 1.0
                 for c in chosen]  # fmt: skip
        rows.append({"P": p, "V": v, "R": r,
                     "single": sum(single) / max(len(proofs), 1),
                     "best": sum(valid) / len(wanted)})  # fmt: skip
    out = TestTime(rows, time.perf_counter() - start)
    print(f"  test-time loop: {out.seconds:.0f} s", flush=True)
    return out


# --- 3. The generator -----------------------------------------------------------------------


def generator_sft(job: Job, base: Path) -> GeneratorStart:
    """SFT from `base` on correct generations, stopped early; its true validity measured."""
    s, world, templates = job.settings, job.world, data.load_templates()
    problems = generator_problems(s.generator_problems, TRAIN_SEED + 2, world.families,
                                  world.max_chars)  # fmt: skip
    heldout = generator_problems(s.validity_pool, HELDOUT_SEED + 2, world.families,
                                 world.max_chars)  # fmt: skip
    unseen = dict.fromkeys(p["problem"] for p in job.held_out(heldout, problems))
    heldout = list(unseen)[: s.validity_problems]
    start = time.perf_counter()
    path = train.sft(base, data.generator_sft_rows(problems, templates),
                     s.generator_sft_steps, s.sft_batch, s.sft_lr, job.seed,
                     job.tmp / "generator-sft")  # fmt: skip
    sft_s = time.perf_counter() - start
    mark = time.perf_counter()
    found = train.validity(train.load(path), templates, heldout, s.validity_samples,
                           s.generation_tokens, job.seed)  # fmt: skip
    print(f"  generator SFT: {sft_s:.0f} s, sampled validity {found.sampled:.1%}", flush=True)
    return GeneratorStart(path, [p["problem"] for p in problems], heldout, sft_s, found,
                          time.perf_counter() - mark)  # fmt: skip


def judge_of(job: Job, verifier: Path):
    """The generator's judge: the trained verifier, in process, `judge_samples` per proof at
    `judge_temperature` (0: greedy); with `quote_check`, a verification that credits a proof
    whose lines it misquotes, or a text outside the toy language, scores 0
    (`toy_generator.toy_judge`); with `judge_retries` as well, a proof it misquoted, crediting
    it or not, is verified again (`JudgeConfig.retries`)."""
    from verifier_train.v2.rewards import JudgeConfig
    from verifier_train.v2.toy_generator import toy_judge

    s = job.settings
    config = JudgeConfig(s.judge_samples, s.judge_temperature, s.verification_tokens,
                         s.judge_retries)  # fmt: skip
    backend = HFBackend(str(verifier), device="cpu", batch_size=train.EVAL_BATCH)
    return toy_judge(backend, config, s.quote_check)


def grpo_seed_of(seed: int, grpo_seed: int) -> int:
    """The GRPO recipe's seed of a start's `grpo_seed`-th pair of runs (0: the start's own)."""
    return seed + 10**5 * grpo_seed


def generator_trainer(job: Job, kind: str, start: GeneratorStart, judge, out: Path,
                      grpo_seed: int = 0):  # fmt: skip
    """The GRPO trainer of one run: `v2.stages.generator_trainer` rewarded by the judge
    ("verifier"), or `v2.stages.grpo_trainer` with the same reward whose judge is exact
    (`toyworld.ExactJudge`, "exact"): the runs differ only in the judge."""
    from transformers import AutoTokenizer

    from verifier_train.v2.generator import generator_rows
    from verifier_train.v2.rewards import generator_reward
    from verifier_train.v2.stages import ProbeConfig, generator_trainer, grpo_trainer
    from verifier_train.v2.toyworld import ExactJudge

    s, templates, policy = job.settings, data.load_templates(), str(start.path)
    steps = s.generator_grpo_steps
    # Both runs sample every step from one seeded stream (common random numbers): they then
    # part only as far as their rewards part, not a GRPO seed apart after the first
    # difference (before, a changed completion length shifted the whole stream after it).
    seed = grpo_seed_of(job.seed, grpo_seed)
    recipe = grpo_recipe(s, seed, steps, s.generator_grpo_lr, s.generation_tokens, True)
    if kind == "verifier":
        probes = ProbeConfig(steps, s.probe_samples, s.verification_tokens)
        return generator_trainer(policy, start.problems, recipe, out, templates, judge,
                                 probes=probes, **train.GRPO_QUIET)[0]  # fmt: skip
    rows = generator_rows(start.problems, templates, AutoTokenizer.from_pretrained(policy))
    reward = generator_reward(ExactJudge())
    return grpo_trainer(policy, rows, [reward], recipe, out, **train.GRPO_QUIET)[0]


def generator_grpo(job: Job, kind: str, start: GeneratorStart, verifier: Path | None,
                   exact_in_place: bool = False, grpo_seed: int = 0) -> GeneratorRun:  # fmt: skip
    """GRPO from the SFT model with the verifier's reward ("verifier") or the exact one;
    then the true validity and the judge's view of the new policy's proofs (None with no
    `verifier`, which only the exact reward allows). `exact_in_place`: the "verifier" run
    with the exact checker in the judge's place (`ExactInPlace`). `grpo_seed`: the index of
    the run's GRPO seed (`grpo_seed_of`); its validity is sampled as every run's is."""
    s, out = job.settings, job.tmp / (f"generator-{kind}" + (f"-g{grpo_seed}" if grpo_seed else ""))
    judge = judge_of(job, verifier) if verifier else None
    judge = ExactInPlace(judge) if exact_in_place else judge
    tallied = TalliedJudge(judge) if kind == "verifier" else None
    trainer = generator_trainer(job, kind, start, tallied, out, grpo_seed)
    clock = train.instrument(trainer, train.Clock())
    begin = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - begin
    distinct = (judge.asked, judge.generated) if kind == "verifier" else None
    tally = dict(tallied.tally) if tallied else None
    unfaithful = judge.unfaithful if tallied else 0
    retried = (judge.retried, judge.rescued) if tallied else (0, 0)
    passed_wrong = dict(tallied.passed_wrong) if tallied else None
    misjudged = tuple(tallied.misjudged) if tallied else ()
    trainer.model.eval()
    backend = HFBackend.from_loaded(trainer.model, trainer.processing_class, train.EVAL_BATCH)
    found = train.validity(backend, data.load_templates(), start.heldout, s.validity_samples,
                           s.generation_tokens, job.seed)  # fmt: skip
    first = s.judged_proofs
    judged_start = (
        train.judged_mean(judge, start.validity.proofs[:first]) if kind == "exact" else None
    )
    judged = train.judged_mean(judge, found.proofs[:first])
    seeded = f", GRPO seed {grpo_seed}" if grpo_seed else ""
    print(f"  generator GRPO ({kind} reward{seeded}): {seconds:.0f} s, sampled validity "
          f"{found.sampled:.1%}", flush=True)  # fmt: skip
    return GeneratorRun(kind, found, judged, seconds, clock, reward_ends(out), judged_start,
                        distinct, tally, unfaithful, retried, grpo_seed, passed_wrong,
                        misjudged)  # fmt: skip
