"""The toy verifier: a verifier and meta-verifier of the toy world, trained by SFT in stages
that continue each other, each on its own mix of rows, run by `prover iterate
verifier_train/recipes/toy-verifier.yaml`. That recipe writes down the curve runs that made
the V2 learning check's best verifier (`benchmarks/v2_learning_check.py --verifier`), and
two more stages. One
order of a stage's rows is one draw from a wide spread (RESULTS.md), so a stage may train
several orders (`candidates`, in worker processes) and keep the best on a validation split.

`train_toy_verifier(recipe, out, generated)` runs, top to bottom:
1. `toy_prover.warm_up`: the char-level Llama and its copy warm-up;
2. `split`: planted held-out proofs and the held-out part of the generator-written proofs
   (`heldout`), and the validation split; their problems, and those of the check's held-out
   pools (`reserved`), stay out of training;
3. each `VerifierStage` in order, from the last one's model: its rows (`stage_rows`: planted
   proofs in its mix, meta-verification records in its meta form, generator-written proofs
   with their computed analyses), then SFT in chunks of `chunk_steps` (the last chunk on
   `last_schedule`) of each candidate order (`best_candidate`); the best on the validation
   split goes on. A finished chunk is kept, so a re-run continues at the first missing one;
4. `final/` with `training_problems.json` (every problem any stage trained or chose on: the
   form the check's `--verifier` reads), then `measure` and MODEL_CARD.md.

The prompts are the toy world's short templates (`rows.TOY_TEMPLATES`): pass
`--templates verifier_train/v2/toyworld/templates` to use the model from `prover`.

This module does NOT write the generator-written proofs (`benchmarks/v2_generator_proofs.py`
does; the recipe reads the shipped file), train a generator, or run GRPO.
"""

from __future__ import annotations

import gzip
import json
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from verifier_train.v2.toy_prover import CONSTANT, HELDOUT_SEED, SCHEDULES

VALIDATION_SEED = HELDOUT_SEED + 10  # planted proofs of the validation split
TOKENS = 448  # new tokens of a measured analysis (2.1% of arith+linear ones exceed 400)
# Sequences per `generate` micro-batch when measuring and judging. Every decoding step reads
# the whole batch's KV cache; a batch of 256 sequences of ~650 positions no longer fits the CPU's
# caches. benchmarks/judge_batching.py (RESULTS.md): 4 samples at T 1 of 64 proofs took 111.0 s
# in batches of 256 and 43.4 s in batches of 32 (2.56x).
EVAL_BATCH = 32
PROOF_FIELDS = ("problem", "proof", "score", "kind")  # a generator-written proof's JSON line


@dataclass(frozen=True)
class VerifierStage:
    """One SFT stage: its length, the shares of its rows and how they are written. Rows are
    `steps * batch`: meta-verification (`meta`), generator-written proofs (`generated`), and
    planted proofs in `mix` (`rows.MIXES`) for the rest."""

    steps: int = 600
    chunk_steps: int = 600  # each chunk restarts the optimizer and its warm-up
    mix: str = "default"
    meta: float = 0.0
    generated: float = 0.0
    meta_form: str = "sentence"  # meta answers: one sentence, or "worked" (`analysis.META`)
    meta_written: float = 0.0  # of the meta rows, those of generator-written proofs
    notes: str = "columns"  # fold notes of the analyses (`analysis.note_style`)
    quote: bool = False  # analysis lines start with the proof's line
    schedule: str = CONSTANT  # every chunk's learning-rate schedule but the last's
    last_schedule: str = CONSTANT
    data_seed: int = 0  # another for rows a start model has not seen
    # Orders of the rows trained from the same start; the one that scores best on the
    # validation split goes on. One order is one draw: two runs of stage 1 on nearly the
    # same rows in other orders ended 22.5 points apart on planted proofs (RESULTS.md).
    candidates: int = 1

    def __post_init__(self) -> None:
        from verifier_train.v2.toyworld.analysis import META_FORMS, note_style
        from verifier_train.v2.toyworld.rows import MIXES

        note_style(self.notes)
        if self.steps % self.chunk_steps:
            raise ValueError("stage: steps must be a multiple of chunk_steps")
        for name, value, known in (("mix", self.mix, MIXES), ("meta_form", self.meta_form,
                                   META_FORMS), ("schedule", self.schedule, SCHEDULES),
                                   ("last_schedule", self.last_schedule, SCHEDULES)):  # fmt: skip
            if value not in known:
                raise ValueError(f"stage: {name} {value!r} is not one of {', '.join(known)}")
        if self.meta + self.generated > 1:
            raise ValueError("stage: meta + generated is more than all the rows")
        if self.candidates < 1:
            raise ValueError("stage: candidates is at least 1")

    @contextmanager
    def written(self) -> Iterator[None]:
        """Reference analyses and meta answers written in this stage's styles inside it."""
        from verifier_train.v2.toyworld import analysis

        with analysis.written(self.notes, self.quote, self.meta_form):
            yield


@dataclass(frozen=True)
class ToyVerifierRecipe:
    """Everything that decides the toy verifier (`toy_verifier:` in an iterate recipe)."""

    families: tuple[str, ...] = ("linear",)
    max_chars: int = 160
    hidden: int = 128
    layers: int = 4
    seed: int = 0
    copy_steps: int = 200
    batch: int = 32
    learning_rate: float = 1e-3
    threads: int = 1  # torch threads: results depend on it (float summation order)
    heldout_proofs: int = 200  # planted held-out proofs
    heldout_generated: int = 150  # problems of the generator-written proofs held out
    # The V2 learning check draws its held-out sets from these pools (10 x 200 planted proofs,
    # 1,000 drawn problems: its `validity_pool`); they stay out of training, so the check can
    # measure this verifier.
    reserve_proofs: int = 2000
    reserve_problems: int = 1000
    # The validation split that chooses among a stage's candidates (drawn only when a stage
    # has more than one): planted proofs and the problems of generator-written ones.
    validation_proofs: int = 200
    validation_generated: int = 50
    workers: int = 1  # candidates trained at once, one process (of `threads`) each
    stages: tuple[VerifierStage, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.stages, list | tuple):
            raise ValueError("toy_verifier: stages is a list of stage mappings")
        stages = tuple(_stage(s) for s in self.stages)
        if not stages:
            raise ValueError("toy_verifier: no stages")
        if self.workers < 1:
            raise ValueError("toy_verifier: workers is at least 1")
        object.__setattr__(self, "stages", stages)
        object.__setattr__(self, "families", tuple(self.families))

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"families": list(self.families)}


def _stage(value: VerifierStage | dict) -> VerifierStage:
    """A stage from its recipe mapping, read as a recipe section is (`recipe_yaml.section`:
    an unknown key or a value that is no number is one line)."""
    from verifier_train.recipe_yaml import section

    if isinstance(value, VerifierStage):
        return value
    if not isinstance(value, dict):
        raise ValueError(
            f"toy_verifier: a stage is a mapping (steps: ..., mix: ...), not {value!r}"
        )
    return section({"stage": value}, "stage", VerifierStage, Path("toy_verifier"))


# --- Rows -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageRows:
    """Planted proofs (with their reference analyses), meta-verification records and
    generator-written proofs: a stage's training rows, or the held-out sets."""

    proofs: list[dict]
    metas: list[dict]
    generated: list[dict]

    def problems(self) -> set[str]:
        return {r["problem"] for r in self.proofs + self.metas + self.generated}


def read_proofs(path: Path, fields: Sequence[str] = PROOF_FIELDS) -> tuple[list[dict], list[int]]:
    """(the {problem, proof, score, kind} rows, or those `fields`, of a JSON-lines file of
    generator-written proofs, plain or .gz; the numbers of its unreadable lines: cut off by a
    crash, or not such a row)."""
    rows, bad = [], []
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") if path.exists() else _nothing() as lines:
        for number, line in enumerate(lines, 1):
            try:
                row = json.loads(line)
                rows.append({k: row[k] for k in fields})
            except (ValueError, KeyError, TypeError):
                bad.append(number)
    return rows, bad


@contextmanager
def _nothing() -> Iterator[list[str]]:
    yield []


def cycled(rows: list[dict], n: int, seed: int) -> list[dict]:
    """n rows: `rows` shuffled, repeated as often as needed."""
    if not rows:
        return []
    out, rng = [], random.Random(seed)
    while len(out) < n:
        out += rng.sample(rows, len(rows))
    return out[:n]


def stage_rows(stage: VerifierStage, world: Any, away: set[str], generated: list[dict],
               batch: int) -> StageRows:  # fmt: skip
    """`steps * batch` rows in the stage's shares and styles, none of a problem in `away`
    (planted proofs and meta records are drawn three times over and filtered)."""
    from verifier_train.v2.toyworld.rows import MIXES, meta_data, verifier_data, written_meta_data

    n, seed = stage.steps * batch, 2 * stage.data_seed
    metas, graded = round(n * stage.meta), round(n * stage.generated)
    written = round(metas * stage.meta_written)
    mine = [r for r in generated if r["problem"] not in away]
    with stage.written():
        proofs = verifier_data(3 * (n - metas - graded), seed, world, MIXES[stage.mix])
        meta_rows = meta_data(3 * metas, seed + 1, world) if metas else []
        meta_written = written_meta_data(cycled(mine, 3 * written, seed + 2), seed + 3)
    proofs = [r for r in proofs if r["problem"] not in away][: n - metas - graded]
    meta_rows = [r for r in meta_rows if r["problem"] not in away][: metas - written]
    meta_rows = cycled(meta_rows + meta_written[:written], metas, seed + 4)
    return StageRows(proofs, meta_rows, cycled(mine, graded, seed))


def sft_rows(stage: VerifierStage, rows: StageRows, templates: Any) -> list[dict]:
    """The stage's prompt/completion rows in its first order (`sft_orders`)."""
    return sft_orders(stage, rows, templates, 1)[0]


def sft_orders(stage: VerifierStage, rows: StageRows, templates: Any,
               orders: int) -> list[list[dict]]:  # fmt: skip
    """The stage's prompt/completion rows, written once and shuffled by each seed in
    `range(orders)`; generator-written proofs get the analysis computed from their text, in
    the stage's style."""
    from verifier_train.v2.toyworld.analysis import computed_analysis
    from verifier_train.v2.toyworld.rows import verifier_sft_rows

    with stage.written():
        graded = [r | {"analysis": computed_analysis(r["problem"], r["proof"])}
                  for r in rows.generated]  # fmt: skip
    written = verifier_sft_rows(rows.proofs + graded, rows.metas, templates)
    out = []
    for order in range(orders):
        shuffled = list(written)
        random.Random(order).shuffle(shuffled)
        out.append(shuffled)
    return out


def reserved(world: Any, proofs: int, problems: int) -> set[str]:
    """The problems of the V2 learning check's held-out pools: `proofs` planted proofs and
    `problems` generator problems drawn with the held-out seeds."""
    from verifier_train.v2.toyworld import generator_problems
    from verifier_train.v2.toyworld.rows import verifier_data

    planted = verifier_data(proofs, HELDOUT_SEED, world)
    drawn = generator_problems(problems, HELDOUT_SEED + 2, world.families, world.max_chars)
    return {r["problem"] for r in planted + drawn}


def heldout(world: Any, generated: list[dict], n: int, n_generated: int,
            away: set[str] = frozenset(), validation: bool = False) -> StageRows:  # fmt: skip
    """n planted proofs (the held-out kinds, seed `HELDOUT_SEED`) and every generator-written
    proof of `n_generated` of the file's problems (kind "label S"), none in `away`; with
    `validation`, other draws (`VALIDATION_SEED`) for the validation split."""
    from verifier_train.v2.toyworld.rows import verifier_data

    problems = sorted({r["problem"] for r in generated} - away)
    random.Random(5 if validation else 3).shuffle(problems)
    kept = set(problems[:n_generated])
    gen = [r | {"kind": f"label {r['score']:g}"} for r in generated if r["problem"] in kept]
    seed = VALIDATION_SEED if validation else HELDOUT_SEED
    fresh = [r for r in verifier_data(10 * n, seed, world) if r["problem"] not in away | kept]
    return StageRows(fresh[:n], [], gen)


# --- Training -------------------------------------------------------------------------------


def train_stage(
    stage: VerifierStage,
    rows: list[dict],
    start: Path,
    out: Path,
    batch: int,
    lr: float,
    on_chunk: Callable[[int, Path, float], None] | None = None,
) -> Path:
    """SFT of the stage's `rows` from `start`, chunk by chunk into `out{step}` (seed `step`);
    finished chunks are kept and skipped. `on_chunk(step, model, seconds)` after each chunk
    trained now. Returns the last chunk's model."""
    from verifier_train.v2.toy_prover import sft

    model, every = start, stage.chunk_steps
    for step in range(every, stage.steps + 1, every):
        path = out.with_name(f"{out.name}{step}")
        if not (path / "config.json").is_file():
            begin = time.perf_counter()
            chunk = rows[(step - every) * batch : step * batch]
            schedule = stage.last_schedule if step == stage.steps else stage.schedule
            sft(model, chunk, every, batch, lr, step, path, (), schedule)
            if on_chunk:
                on_chunk(step, path, time.perf_counter() - begin)
        model = path
    return model


def train_toy_verifier(recipe: ToyVerifierRecipe, out: Path, generated: list[dict],
                       log: Callable[[str], None] = print) -> Path:  # fmt: skip
    """Warm up, then train every stage under `out/`; returns `out/final` with its
    `training_problems.json`. Finished chunks are kept, so a re-run continues."""
    import torch

    from verifier_train.v2.toy_prover import _copy_model, _timed, warm_up
    from verifier_train.v2.toyworld.rows import World, toy_templates, vocabulary_words

    final = out / "final"
    if (final / "config.json").is_file():
        return final
    torch.set_num_threads(recipe.threads)
    templates, model = toy_templates(), out / "copy"
    world = World(recipe.families, recipe.max_chars)
    if not (model / "config.json").is_file():
        begin, sizes = time.perf_counter(), (recipe.hidden, recipe.layers, recipe.copy_steps)
        warm_up(out, vocabulary_words(templates), *sizes, recipe.batch, recipe.learning_rate,
                recipe.seed)  # fmt: skip
        _timed(out, "copy", begin, log)
    away, check = split(recipe, world, generated)
    trained = check.problems()  # chosen on is seen too: kept out of the check's held-out sets
    for index, stage in enumerate(recipe.stages, 1):
        rows = stage_rows(stage, world, away, generated, recipe.batch)
        trained |= rows.problems()
        log(f"toy verifier: stage {index}, {stage.steps} steps from {model.name}")
        orders = sft_orders(stage, rows, templates, stage.candidates)
        jobs = [Candidate(f"stage{index}{'' if stage.candidates == 1 else f'c{c}'}-", order,
                          stage.candidates > 1) for c, order in enumerate(orders)]  # fmt: skip
        model = best_candidate(stage, jobs, model, out, recipe, check, log)
    (model / "training_problems.json").write_text(json.dumps(sorted(trained)))
    _copy_model(model, final)
    return final


def held_problems(recipe: ToyVerifierRecipe, world: Any, generated: list[dict]) -> set[str]:
    """The problems no stage may train on: the held-out sets', the check's pools' and the
    validation split's."""
    return split(recipe, world, generated)[0]


def split(recipe: ToyVerifierRecipe, world: Any,
          generated: list[dict]) -> tuple[set[str], StageRows]:  # fmt: skip
    """(the problems no stage may train on, the validation split). The split has no problem
    of the held-out sets or the check's pools, and is empty unless a stage has candidates to
    choose among."""
    held = heldout(world, generated, recipe.heldout_proofs, recipe.heldout_generated)
    away = held.problems() | reserved(world, recipe.reserve_proofs, recipe.reserve_problems)
    if all(stage.candidates == 1 for stage in recipe.stages):
        return away, StageRows([], [], [])
    check = heldout(world, generated, recipe.validation_proofs, recipe.validation_generated,
                    away, validation=True)  # fmt: skip
    return away | check.problems(), check


@dataclass(frozen=True)
class Candidate:
    """One order of a stage's rows: its chunks' name (`out/{name}{step}`), its shuffled SFT
    rows, and whether it is scored on the validation split."""

    name: str
    rows: list[dict]
    scored: bool


@dataclass(frozen=True)
class Trained:
    model: Path  # the candidate's last chunk
    score: float | None  # on the validation split (`validation_score`)


def best_candidate(stage: VerifierStage, jobs: list[Candidate], start: Path, out: Path,
                   recipe: ToyVerifierRecipe, check: StageRows,
                   log: Callable[[str], None]) -> Path:  # fmt: skip
    """Train every candidate from `start` (`recipe.workers` at once, each in its own process)
    and return the one best on `check` (the first on a tie)."""
    from verifier_train.v2.toy_prover import record, training_times

    args = [(stage, j.rows, start, out / j.name, recipe.batch, recipe.learning_rate,
             recipe.threads, check if j.scored else None) for j in jobs]  # fmt: skip
    trained = all((out / f"{j.name}{stage.steps}" / "config.json").is_file() for j in jobs)
    if recipe.workers > 1 and len(jobs) > 1 and not trained:  # no processes to only read
        from concurrent.futures import ProcessPoolExecutor
        from multiprocessing import get_context

        log(f"toy verifier: {len(jobs)} candidates, {min(recipe.workers, len(jobs))} at once")
        with ProcessPoolExecutor(min(recipe.workers, len(jobs)), get_context("spawn")) as pool:
            done = list(pool.map(train_candidate, *zip(*args, strict=True)))  # they say
    else:
        done = [train_candidate(*a, log=log) for a in args]
    for job in jobs:  # each chunk was said when trained, and kept its seconds (a worker's too)
        for step in range(stage.chunk_steps, stage.steps + 1, stage.chunk_steps):
            name, known = f"{job.name}{step}", training_times(out)
            kept = out / name / "seconds.json"
            if name not in known and kept.is_file():
                record(out, name, json.loads(kept.read_text())["seconds"], lambda _said: None)
    if len(done) > 1:
        scores = ", ".join(f"{t.model.name} {t.score:.3f}" for t in done)
        log(f"toy verifier: validation scores {scores}")
    return max(done, key=lambda t: t.score or 0.0).model


def train_candidate(stage: VerifierStage, rows: list[dict], start: Path, chunks: Path,
                    batch: int, lr: float, threads: int, check: StageRows | None,
                    log: Callable[[str], None] | None = None) -> Trained:  # fmt: skip
    """One candidate's chunks (`train_stage`), then its validation score (kept in
    `validation.json` of its last chunk). Runs in a worker process too."""
    import torch

    from prover.rundir import write_json

    torch.set_num_threads(threads)

    def done(_step: int, path: Path, spent: float) -> None:
        write_json(path / "seconds.json", {"seconds": round(spent, 1)})
        said = f"{chunks.parent.name}: {path.name} done in {spent:.0f} s"
        if log:
            log(said)
        else:  # in a worker process, whose stdout may be a file: say it now
            print(said, flush=True)

    model = train_stage(stage, rows, start, chunks, batch, lr, done)
    return Trained(model, None if check is None else validation_score(model, check))


def validation_score(model: Path, check: StageRows) -> float:
    """The mean of the greedy accuracies on the split's planted and generator-written proofs;
    read from `model/validation.json` when measured before."""
    from prover.rundir import write_json
    from verifier_train.v2.toyworld.rows import toy_templates

    path = model / "validation.json"
    if path.is_file():
        return json.loads(path.read_text())["score"]
    backend, templates = load(model), toy_templates()
    found = {"planted": verifier_scores(backend, templates, check.proofs).accuracy}
    if check.generated:
        found["generated"] = verifier_scores(backend, templates, check.generated).accuracy
    write_json(path, found | {"score": statistics.mean(found.values())})
    return statistics.mean(found.values())


# --- Measuring ------------------------------------------------------------------------------


def load(model: Path) -> Any:
    """The model at `model` behind the in-process `hf` backend, on the CPU, in EVAL_BATCH
    micro-batches (how every toy model is measured and judged)."""
    from prover.backends.hf import HFBackend

    return HFBackend(str(model), device="cpu", batch_size=EVAL_BATCH)


@dataclass(frozen=True)
class VerifierScores:
    accuracy: float  # exact match of the greedy boxed score with the exact label
    mae: float  # |predicted - exact|, an unreadable prediction counted as 0.5 off
    unreadable: float
    by_kind: dict[str, float] = field(default_factory=dict)  # accuracy per kind of proof
    analyses: tuple[str, ...] = ()  # the greedy analyses, in row order


def share_by(right: Sequence[bool], rows: Sequence[dict], key: str) -> dict[str, float]:
    """The share of `right` within each value of `row[key]`."""
    return {
        k: statistics.mean(ok for ok, r in zip(right, rows, strict=True) if r[key] == k)
        for k in sorted({r[key] for r in rows})
    }


def verifier_scores(backend: Any, templates: Any, rows: Sequence[dict],
                    max_tokens: int = TOKENS) -> VerifierScores:  # fmt: skip
    """Greedy verification of held-out proofs against their exact labels, by `kind`."""
    from prover.backends.base import Sampling, user_chat
    from prover.parse import parse_verdict

    prompts = [user_chat(templates.verification(r["problem"], r["proof"])) for r in rows]
    outs = backend.generate(prompts, 1, Sampling(temperature=0, max_tokens=max_tokens))
    scores = [parse_verdict(o[0].text, o[0].finish_reason).score for o in outs]
    truth = [float(r["score"]) for r in rows]
    right = [s == t for s, t in zip(scores, truth, strict=True)]
    errors = [0.5 if s is None else abs(s - t) for s, t in zip(scores, truth, strict=True)]
    return VerifierScores(statistics.mean(right), statistics.mean(errors),
                          sum(s is None for s in scores) / len(rows), share_by(right, rows, "kind"),
                          tuple(o[0].text for o in outs))  # fmt: skip


@dataclass(frozen=True)
class ToyVerifierMeasure:
    """Greedy held-out figures of a toy verifier (shares in [0, 1]; `heldout`'s sets)."""

    planted: float
    planted_by_kind: dict[str, float]
    generated: float | None  # generator-written proofs (None: the recipe read none)
    generated_by_label: dict[str, float]
    proofs: int
    generated_proofs: int
    generated_counts: dict[str, int]  # proofs per exact label: a label can be rare


def measure(model: Path, recipe: ToyVerifierRecipe, generated: list[dict]) -> ToyVerifierMeasure:
    """The model's greedy accuracy on the held-out planted and generator-written proofs."""
    from verifier_train.v2.toyworld.rows import World, toy_templates

    world, templates = World(recipe.families, recipe.max_chars), toy_templates()
    held = heldout(world, generated, recipe.heldout_proofs, recipe.heldout_generated)
    backend = load(model)
    planted = verifier_scores(backend, templates, held.proofs)
    gen = verifier_scores(backend, templates, held.generated) if held.generated else None
    return ToyVerifierMeasure(planted.accuracy, planted.by_kind, gen and gen.accuracy,
                              gen.by_kind if gen else {}, len(held.proofs), len(held.generated),
                              dict(Counter(r["kind"] for r in held.generated)))  # fmt: skip


def finish_card(final: Path, recipe: ToyVerifierRecipe, generated: list[dict],
                log: Callable[[str], None] = print) -> Path:  # fmt: skip
    """MODEL_CARD.md of the trained toy verifier at `final` (measured first), unless written."""
    from verifier_train.v2.toy_prover import _commit, training_times

    card = final / "MODEL_CARD.md"
    if card.is_file():
        return card
    log("toy verifier: measuring on held-out proofs")
    found, seconds = measure(final, recipe, generated), sum(training_times(final.parent).values())
    kinds = ", ".join(f"{k} {v:.1%}" for k, v in found.planted_by_kind.items())
    counts = found.generated_counts
    labels = ", ".join(f"{k} {v:.1%} of {counts[k]}" for k, v in found.generated_by_label.items())
    written = "none read" if found.generated is None else f"{found.generated:.1%} ({labels})"
    scored = sorted(final.parent.glob("stage*c*-*/validation.json"))
    chosen = ", ".join(f"{p.parent.name} {json.loads(p.read_text())['score']:.1%}" for p in scored)
    at_once = min(recipe.workers, max((s.candidates for s in recipe.stages), default=1))
    card.write_text(f"""# toy verifier: a verifier and meta-verifier of the toy world

One char-level Llama ({recipe.hidden} hidden, {recipe.layers} layers) that verifies toy-world
proofs ({", ".join(recipe.families)}) by re-deriving every step, and meta-verifies analyses.
It does not write proofs. Trained on a CPU by `prover iterate` (`verifier_train.v2.toy_verifier`):
a copy warm-up, then {len(recipe.stages)} SFT stages; {seconds / 60:.0f} minutes of training, summed
over every candidate's chunks ({at_once} trained at a time).
Prompts: the toy templates (`--templates verifier_train/v2/toyworld/templates`).

Commit: {_commit()}; seed {recipe.seed}; torch threads {recipe.threads}.

## Held-out figures (greedy; problems never seen in training)
- Planted proofs: {found.planted:.1%} of {found.proofs} scored right ({kinds}).
- Generator-written proofs: {written}, {found.generated_proofs} proofs.

Stage candidates (orders of a stage's rows) and their validation scores (mean of planted and
generator-written accuracy; the best of each stage went on): {chosen or "none"}.

Recipe (JSON):

```json
{json.dumps(recipe.to_json(), indent=2)}
```
""")
    (final / "heldout.json").write_text(json.dumps(asdict(found), indent=2))
    return card
