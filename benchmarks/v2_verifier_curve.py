"""The toy verifier's SFT learning curve under two training recipes, side by side in one run.

    python benchmarks/v2_verifier_curve.py [--arms plain,drill] [--families arith,linear]
                                           [--steps 600] [--every 300] [--save DIR]
                                           [--save-peer DIR]
                                           [--start DIR] [--generator-proofs FILE]
                                           [--held-out 200] [--last-cosine]

The arms (pick two; the first is the peer):
- `default`: proofs drawn with `toyworld.data.DEFAULT_MIX` (the held-out kinds only);
- `drill`: `toyworld.rows.TRAIN_MIX` (the same kinds, the "slips" drill and 5% non-proofs);
- `results`: `drill` with fold notes that give a sum's result without its digit columns
  (`59+16 -> 75`, as before `toyworld.columns`);
- `plain`: `drill` with analyses written without the fold notes (`toyworld.analysis.NOTES`);
- `cosine`: `drill` with each chunk's learning rate decayed to 0 on a cosine (the others hold
  it constant after a short warm-up, as the toy prover is trained);
- `anneal`: `drill` with only the last chunk's learning rate decayed on a cosine (a long run
  with a cosine tail: 84.0% after 1,800 constant steps and a 600-step tail, RESULTS.md);
- `meta`: `drill` with a fifth of the rows meta-verification (`rows.meta_data`: faithful
  analyses, a wrong score, an invented issue, a missed one), as `v2_learning_check.py` trains;
- `gen`: `drill` with half the rows generator-written proofs (`--generator-proofs`);
- `genmeta`: `meta` with 40% of the rows generator-written proofs;
- `genskip`: `genmeta` whose planted proofs are 35% skipped steps (`SKIP_MIX`);
- `quote`: `genmeta` with analyses whose lines start with the proof's line
  (`toyworld.analysis.quote_first`);
- `metawork`: `genmeta` with worked meta answers (the analysis's decisive line re-derived
  from the proof, then its score checked: `toyworld.data.meta_work`), half of its meta rows
  of generator-written proofs;
- `workskip`: `metawork` whose planted proofs are 35% skipped steps (`SKIP_MIX`).
`--last-cosine` decays every arm's last chunk on a cosine.

`--start DIR` trains from a saved verifier (`--save`) instead of the copy warm-up; its
training problems stay out of every held-out set (`--data-seed 1` draws rows it has not
seen). `--generator-proofs FILE` (JSON lines of `v2_generator_proofs.py`) gives the
generator-written proofs: those of 150 of its problems (3/4 of `--held-out`) are held out and
measured, the rest are the arms' rows (repeated when an arm needs more).
`--save DIR` keeps the second arm's last checkpoint in DIR (`--save-peer DIR` the first's), with
the problems it and its start trained on in `DIR/training_problems.json`, the form
`v2_learning_check.py --verifier` reads;
no arm trains on a problem of the pools the check draws its held-out sets from.
`--arms drill,anneal --steps 2400 --every 600 --save DIR` trains a verifier on the schedule of
RESULTS.md's 2,400-step one (about 2 hours per arm).

Both arms (one process and one torch thread each) start from the same model and train on the
same planted proofs, steps, batch and learning rate. At every checkpoint both are measured
greedily, with 448 new tokens, on the same held-out sets of problems neither arm trained on:
planted proofs (default mix), meta-verification records, and generator-written proofs when
given; and each arm meta-verifies its own issue-finding analyses, which is what auto-labelling
asks of it. No GRPO (`v2_learning_check.py` runs the whole loop). The last line gives the
planted-proof accuracy's ratio to the peer.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import _v2_data as data  # noqa: E402
import _v2_stages as stages  # noqa: E402
import _v2_train as train  # noqa: E402
from v2_generator_proofs import read_proofs  # noqa: E402
from v2_learning_check import Settings, given_verifier, init_worker  # noqa: E402

from verifier_train.v2.toy_prover import CONSTANT  # noqa: E402
from verifier_train.v2.toyworld import analysis, generator_problems  # noqa: E402
from verifier_train.v2.toyworld.analysis import computed_analysis  # noqa: E402

BATCH = 32
TOKENS = 448  # 2.1% of arith+linear columns analyses exceed 400 new tokens


@dataclass(frozen=True)
class Recipe:
    """One arm: its planted proof mix, note style, learning-rate schedules (of each chunk, of
    the last one), and the shares of its rows that are meta-verification and generator-written
    (the rest are planted proofs)."""

    mix: dict[str, float] | None = None
    notes: str = "columns"
    schedule: tuple[str, str] = (CONSTANT, CONSTANT)
    meta: float = 0.0
    generated: float = 0.0
    quote: bool = False  # analyses quote the proof's line first
    meta_form: str = "sentence"  # meta answers: one sentence, or worked (`toyworld.data`)
    meta_written: float = 0.0  # of the meta rows, those of generator-written proofs

    @contextmanager
    def written(self) -> Iterator[None]:
        """Reference analyses and meta answers written in this arm's styles inside the block."""
        with analysis.written(self.notes, self.quote, self.meta_form):
            yield


# Skipped steps are the class the genmeta verifier misses most (40% of planted ones after
# 1,200 steps: it writes the step's expected line where the proof's line belongs, so it finds
# no difference), and a generator's proofs almost never skip a step (10 of 7,999 are label
# 0.5). This mix has more of them, at the cost of the other kinds and the slips drill.
SKIP_MIX = {
    "correct": 0.25,
    "wrong_step": 0.1,
    "skipped_step": 0.35,
    "false_final": 0.1,
    "slips": 0.15,
    "junk": 0.05,
}
ARMS = {
    "default": Recipe(),
    "drill": Recipe(data.TRAIN_MIX),
    "results": Recipe(data.TRAIN_MIX, "results"),
    "plain": Recipe(data.TRAIN_MIX, "none"),
    "cosine": Recipe(data.TRAIN_MIX, schedule=("cosine", "cosine")),
    "anneal": Recipe(data.TRAIN_MIX, schedule=(CONSTANT, "cosine")),
    "meta": Recipe(data.TRAIN_MIX, meta=0.2),
    "gen": Recipe(data.TRAIN_MIX, generated=0.5),
    "genmeta": Recipe(data.TRAIN_MIX, meta=0.2, generated=0.4),
    "genskip": Recipe(SKIP_MIX, meta=0.2, generated=0.4),
    "quote": Recipe(data.TRAIN_MIX, meta=0.2, generated=0.4, quote=True),
    "metawork": Recipe(
        data.TRAIN_MIX, meta=0.2, generated=0.4, meta_form="worked", meta_written=0.5
    ),
    "workskip": Recipe(SKIP_MIX, meta=0.2, generated=0.4, meta_form="worked", meta_written=0.5),
}


@dataclass(frozen=True)
class Rows:
    """Planted proofs (with their reference analyses), meta-verification records and
    generator-written proofs: an arm's training rows, or the held-out sets."""

    proofs: list[dict]
    metas: list[dict]
    generated: list[dict]

    def problems(self) -> set[str]:
        return {r["problem"] for r in self.proofs + self.metas + self.generated}


@dataclass(frozen=True)
class Point:
    """One checkpoint of an arm, measured greedily on the held-out sets."""

    step: int
    verify: train.VerifierScores  # planted proofs
    meta: train.MetaScores  # meta records, and its own analyses of the planted proofs
    generated: train.VerifierScores | None  # generator-written proofs, when given
    own_generated: train.Confirmations | None  # its own analyses of those, meta-verified
    seconds: float  # of training so far


def arm(name: str, rows: Rows, held: Rows, start: Path, out: Path,
        args: argparse.Namespace) -> tuple[list[Point], Path]:  # fmt: skip
    """The arm's curve, measured at every checkpoint, and its last checkpoint."""
    templates = data.load_templates()
    with ARMS[name].written():
        graded = [r | {"analysis": computed_analysis(r["problem"], r["proof"])}
                  for r in rows.generated]  # fmt: skip
    sft_rows = data.verifier_sft_rows(rows.proofs + graded, rows.metas, templates)
    random.Random(0).shuffle(sft_rows)
    model, trained, curve = start, 0.0, []
    for step in range(args.every, args.steps + 1, args.every):
        begin = time.perf_counter()
        chunk = sft_rows[(step - args.every) * BATCH : step * BATCH]
        last = step + args.every > args.steps
        schedule = "cosine" if last and args.last_cosine else ARMS[name].schedule[last]
        model = train.sft(model, chunk, args.every, BATCH, args.lr, step, out / f"{name}{step}",
                          (), schedule)  # fmt: skip
        trained += time.perf_counter() - begin
        curve.append(measure(train.load(model), templates, held, step, trained))
        point = curve[-1]  # a progress line now: the tables come when both arms are done
        gen = f", generator-written {point.generated.accuracy:.1%}" if point.generated else ""
        print(f"  {name} {step}: planted {point.verify.accuracy:.1%}, meta records "
              f"{point.meta.accuracy:.1%}{gen}, {trained:.0f} s", flush=True)  # fmt: skip
    return curve, model


def measure(backend: Any, templates: Any, held: Rows, step: int, trained: float) -> Point:
    """One checkpoint: planted proofs and meta records, then generator-written proofs when the
    held-out sets have them; all greedy, with TOKENS new tokens."""
    scores = train.verifier_scores(backend, templates, held.proofs, TOKENS)
    metas = train.meta_scores(backend, templates, held.metas, held.proofs, scores, TOKENS)
    if not held.generated:
        return Point(step, scores, metas, None, None, trained)
    gen = train.verifier_scores(backend, templates, held.generated, TOKENS)
    own = train.confirmations(backend, templates, held.generated, gen, TOKENS)
    return Point(step, scores, metas, gen, own, trained)


def _cycled(rows: list[dict], n: int, seed: int) -> list[dict]:
    """n rows: `rows` shuffled, repeated as often as needed."""
    if not rows:
        return []
    out, rng = [], random.Random(seed)
    while len(out) < n:
        out += rng.sample(rows, len(rows))
    return out[:n]


def reserved(world: data.World) -> set[str]:
    """The problems `v2_learning_check.py` draws its held-out sets from (`_v2_stages`): kept
    out of every arm's rows, so that a saved verifier leaves the check its held-out sets
    (draws repeat problems: 20,000 linear draws give about 10,000 distinct ones)."""
    s = Settings()
    planted = data.verifier_data(stages.POOL * s.heldout_proofs, stages.HELDOUT_SEED, world)
    written = generator_problems(stages.POOL * s.validity_problems, stages.HELDOUT_SEED + 2,
                                 world.families, world.max_chars)  # fmt: skip
    return {r["problem"] for r in planted + written}


def arm_rows(name: str, world: data.World, args: argparse.Namespace, away: set[str],
             generated: list[dict]) -> Rows:  # fmt: skip
    """`steps * BATCH` SFT rows in the arm's shares and note style, none of a problem in
    `away` (the planted proofs are drawn from three times as many and filtered)."""
    recipe, n, seed = ARMS[name], args.steps * BATCH, 2 * args.data_seed
    metas, graded = round(n * recipe.meta), round(n * recipe.generated)
    written = round(metas * recipe.meta_written)
    mine = [r for r in generated if r["problem"] not in away]
    with recipe.written():
        proofs = data.verifier_data(3 * (n - metas - graded), seed, world, recipe.mix)
        meta_rows = data.meta_data(3 * metas, seed + 1, world) if metas else []
        meta_written = data.written_meta_data(_cycled(mine, 3 * written, seed + 2), seed + 3)
    proofs = [r for r in proofs if r["problem"] not in away][: n - metas - graded]
    meta_rows = [r for r in meta_rows if r["problem"] not in away][: metas - written]
    meta_rows = _cycled(meta_rows + meta_written[:written], metas, seed + 4)
    graded_rows = _cycled(mine, graded, seed)
    return Rows(proofs, meta_rows, graded_rows)


def held_out(world: data.World, start_problems: set[str], generated: list[dict],
             n: int) -> Rows:  # fmt: skip
    """The held-out sets, of problems the start model did not train on: n planted proofs,
    n / 2 meta records, and the generator-written proofs of 3n / 4 of the file's problems."""
    problems = sorted({r["problem"] for r in generated} - start_problems)
    random.Random(3).shuffle(problems)
    kept = set(problems[: 3 * n // 4])
    gen = [r | {"kind": f"label {r['score']:g}"} for r in generated if r["problem"] in kept]
    fresh = [r for r in data.verifier_data(10 * n, 10**6, world)
             if r["problem"] not in start_problems | kept]  # fmt: skip
    seen = start_problems | kept | {r["problem"] for r in fresh[:n]}
    metas = [r for r in data.meta_data(5 * n, 10**6 + 1, world) if r["problem"] not in seen]
    return Rows(fresh[:n], metas[: n // 2], gen)


def warm_up(tmp: Path, world: data.World, copy_steps: int) -> Path:
    """The learning check's copy warm-up (`_v2_stages.copy_stage`), seed 0."""
    words = tuple(data.vocabulary_words(data.load_templates()))
    settings = replace(Settings(), copy_steps=copy_steps)
    return stages.copy_stage(stages.Job(world, settings, 0, tmp, words))[0]


def start_problems(start: Path | None) -> set[str]:
    """The training problems of a `--start` verifier (none for the copy warm-up)."""
    return set() if start is None else set(given_verifier(start, "--start"))


def save(model: Path, problems: set[str], out: Path) -> None:
    """The checkpoint and its training problems, as `v2_learning_check.py --verifier` reads."""
    shutil.copytree(model, out, dirs_exist_ok=True)
    (out / "training_problems.json").write_text(json.dumps(sorted(problems)))
    print(f"saved {model.name} to {out} ({len(problems)} training problems)")


def read_generated(path: Path | None) -> list[dict]:
    """The rows of a `v2_generator_proofs.py` file; unreadable lines are reported and skipped."""
    if path is None:
        return []
    rows, bad = read_proofs(path)
    if bad:
        print(f"{path}: skipped {len(bad)} unreadable lines (first: line {bad[0]})")
    return rows


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--every", type=int, default=300)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--arms", default="plain,drill", help=f"two of {', '.join(ARMS)}")
    parser.add_argument("--families", default="arith,linear")
    parser.add_argument("--copy-steps", type=int, default=200)
    parser.add_argument("--held-out", type=int, default=200, help="planted held-out proofs")
    parser.add_argument("--last-cosine", action="store_true", help="decay each arm's last chunk")
    parser.add_argument("--start", type=Path, help="a saved verifier to train from")
    parser.add_argument("--data-seed", type=int, default=0, help="another for fresh rows")
    parser.add_argument("--generator-proofs", type=Path, help="v2_generator_proofs.py's file")
    parser.add_argument("--save", type=Path, help="keep the second arm's last checkpoint here")
    parser.add_argument("--save-peer", type=Path, help="and the first arm's here")
    args = parser.parse_args()
    names = args.arms.split(",")
    if len(names) != 2 or not set(names) <= set(ARMS):
        parser.error(f"--arms takes two of {', '.join(ARMS)}")
    if any(ARMS[m].generated for m in names) and not args.generator_proofs:
        needing = ", ".join(m for m, r in ARMS.items() if r.generated)
        parser.error(f"the arms {needing} need --generator-proofs FILE")
    if args.generator_proofs and not args.generator_proofs.is_file():
        parser.error(f"--generator-proofs {args.generator_proofs}: no such file")
    for option, place in (("--save", args.save), ("--save-peer", args.save_peer)):
        if place and not os.access(place if place.exists() else place.parent, os.W_OK):
            parser.error(f"{option} {place}: not a writable place")  # found now, not hours later
    args.names = names
    return args


def main() -> None:
    args = parse_args()
    generated = read_generated(args.generator_proofs)
    before = start_problems(args.start)  # exits with one line if the start is no verifier
    world = data.World(families=tuple(args.families.split(",")))
    helds = {}  # the same problems; the meta records' analyses in each arm's own style
    for m in args.names:
        with ARMS[m].written():
            helds[m] = held_out(world, before, generated, args.held_out)
    held = helds[args.names[0]]
    away = held.problems() | reserved(world)
    rows = {m: arm_rows(m, world, args, away, generated) for m in args.names}
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with (
        TemporaryDirectory() as tmp,
        ProcessPoolExecutor(2, context, init_worker, (1,)) as pool,
    ):
        start = args.start or pool.submit(warm_up, Path(tmp), world, args.copy_steps).result()
        arms = {m: pool.submit(arm, m, rows[m], helds[m], start, Path(tmp), args)
                for m in args.names}  # fmt: skip
        results = {m: f.result() for m, f in arms.items()}
        for name, out in zip(args.names, (args.save_peer, args.save), strict=True):
            if out:
                save(results[name][1], before | rows[name].problems(), out)
    report(args, held, {m: curve for m, (curve, _) in results.items()})


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def report(args: argparse.Namespace, held: Rows, curves: dict[str, list[Point]]) -> None:
    """The tables (planted proofs, meta-verification, generator-written proofs) and the ratio
    of planted-proof accuracy to the peer."""
    print(f"verifier SFT, families {args.families}, batch {BATCH}, lr {args.lr:g}; greedy "
          f"accuracy on {len(held.proofs)} planted held-out proofs of unseen problems")  # fmt: skip
    print("arm      step  accuracy  correct  wrong step  skipped step  false final  train s")
    for name, curve in curves.items():
        for p in curve:
            kinds = p.verify.by_kind
            cells = [kinds.get(k, 0.0) for k in ("correct", "wrong_step", "skipped_step",
                                                   "false_final")]  # fmt: skip
            print(
                f"{name:<7} {p.step:5d}  {p.verify.accuracy:8.1%}  {cells[0]:7.1%}  "
                f"{cells[1]:10.1%}  {cells[2]:12.1%}  {cells[3]:11.1%}  {p.seconds:7.0f}"
            )
    print(
        f"meta-verification, greedy: {len(held.metas)} held-out meta records; and the arm's "
        "own issue-finding analyses of the planted proofs, confirmed (meta score 1)"
    )
    print("arm      step  meta acc  faithful  wrong score  invented  missed  "
          "confirms right (n)  confirms wrong (n)")  # fmt: skip
    for name, curve in curves.items():
        for p in curve:
            v = p.meta.by_variant
            cells = [_pct(v.get(k)) for k in ("faithful", "wrong_score", "invented", "missed")]
            print(
                f"{name:<7} {p.step:5d}  {p.meta.accuracy:8.1%}  {cells[0]:>8}  "
                f"{cells[1]:>11}  {cells[2]:>8}  {cells[3]:>6}  {_confirms(p.meta.own)}"
            )
    if held.generated:
        report_generated(held, curves)
    peer, other = args.names
    ratio = curves[other][-1].verify.accuracy / max(curves[peer][-1].verify.accuracy, 1e-9)
    print(f"{other} / {peer} planted-proof accuracy at {args.steps} steps: {ratio:.2f}x")


def _confirms(own: train.Confirmations) -> str:
    right, wrong = own.counts
    return f"{_pct(own.right):>10} ({right:3d})  {_pct(own.wrong):>10} ({wrong:3d})"


def report_generated(held: Rows, curves: dict[str, list[Point]]) -> None:
    labels = [f"label {x}" for x in ("0", "0.5", "1")]
    counts = [sum(r["kind"] == k for r in held.generated) for k in labels]
    print(
        f"generator-written held-out proofs, greedy: {len(held.generated)} proofs (labels "
        f"0/0.5/1: {'/'.join(map(str, counts))}); its own issue-finding analyses confirmed"
    )
    print("arm      step  accuracy  label 0  label 0.5  label 1  "
          "confirms right (n)  confirms wrong (n)")  # fmt: skip
    for name, curve in curves.items():
        for p in curve:
            kinds = p.generated.by_kind
            cells = [_pct(kinds.get(k)) for k in labels]
            print(
                f"{name:<7} {p.step:5d}  {p.generated.accuracy:8.1%}  {cells[0]:>7}  "
                f"{cells[1]:>9}  {cells[2]:>7}  {_confirms(p.own_generated)}"
            )


if __name__ == "__main__":
    main()
