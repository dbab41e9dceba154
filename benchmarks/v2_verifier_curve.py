"""The toy verifier's SFT learning curve under two training recipes, side by side in one run.

    python benchmarks/v2_verifier_curve.py [--arms plain,drill] [--families arith,linear]
                                           [--steps 600] [--every 300] [--save DIR]

The arms (pick two; the first is the peer):
- `default`: proofs drawn with `toyworld.data.DEFAULT_MIX` (the held-out kinds only);
- `drill`: `toyworld.rows.TRAIN_MIX` (the same kinds, the "slips" drill and 5% non-proofs);
- `results`: `drill` with fold notes that give a sum's result without its digit columns
  (`59+16 -> 75`, as before `toyworld.columns`);
- `plain`: `drill` with analyses written without the fold notes (`toyworld.analysis.NOTES`);
- `cosine`: `drill` with each chunk's learning rate decayed to 0 on a cosine (the others hold
  it constant after a short warm-up, as the toy prover is trained);
- `anneal`: `drill` with only the last chunk's learning rate decayed on a cosine (a long run
  with a cosine tail: 84.0% after 1,800 constant steps and a 600-step tail, RESULTS.md).

`--save DIR` keeps the second arm's last checkpoint in DIR, with the problems it trained on
in `DIR/training_problems.json`, the form `v2_learning_check.py --verifier DIR` starts from.
`--arms drill,anneal --steps 2400 --every 600 --save DIR` trains a verifier on the schedule of
RESULTS.md's 2,400-step one (that one was trained by session scripts, on three data seeds and
in 300-step chunks; this command has not been run in full: about 2 hours per arm).

Both arms (one process and one torch thread each) start from the same copy warm-up and train
on the same proofs, steps, batch and learning rate. At every checkpoint both are measured
greedily, with 400 new tokens, on the same planted held-out proofs of unseen problems (default
mix). Only verification rows: no meta-verification, no GRPO (`v2_learning_check.py` runs the
whole loop). The table gives accuracy overall and by kind, and the last line the ratio to the
peer.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from tempfile import TemporaryDirectory

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import _v2_data as data  # noqa: E402
import _v2_stages as stages  # noqa: E402
import _v2_train as train  # noqa: E402
from v2_learning_check import Settings, init_worker  # noqa: E402

from verifier_train.v2.toy_prover import CONSTANT  # noqa: E402
from verifier_train.v2.toyworld import analysis  # noqa: E402

BATCH, HELDOUT = 32, 200
TOKENS = Settings().verification_tokens  # 400: 4.7% of noted analyses are longer than 320
META_SHARE, META_HELDOUT = 0.2, 100  # the `meta` arm's share of SFT rows; held-out meta records
ARMS = {  # name: (mix, fold-note style, (lr schedule of each chunk, of the last), meta share)
    "default": (None, "columns", (CONSTANT, CONSTANT), 0.0),
    "drill": (data.TRAIN_MIX, "columns", (CONSTANT, CONSTANT), 0.0),
    "results": (data.TRAIN_MIX, "results", (CONSTANT, CONSTANT), 0.0),
    "plain": (data.TRAIN_MIX, "none", (CONSTANT, CONSTANT), 0.0),
    "cosine": (data.TRAIN_MIX, "columns", ("cosine", "cosine"), 0.0),
    "anneal": (data.TRAIN_MIX, "columns", (CONSTANT, "cosine"), 0.0),
    "meta": (data.TRAIN_MIX, "columns", (CONSTANT, CONSTANT), META_SHARE),
}


def arm(name: str, rows: Rows, held: Rows, copy: Path, out: Path,
        args: argparse.Namespace) -> tuple[list[Point], Path]:  # fmt: skip
    """The arm's curve, measured at every checkpoint, and its last checkpoint."""
    templates = data.load_templates()
    sft_rows = data.verifier_sft_rows(rows.proofs, rows.metas, templates)
    random.Random(0).shuffle(sft_rows)
    model, trained, curve = copy, 0.0, []
    for step in range(args.every, args.steps + 1, args.every):
        start = time.perf_counter()
        chunk = sft_rows[(step - args.every) * BATCH : step * BATCH]
        last = step + args.every > args.steps
        path, schedule = out / f"{name}{step}", ARMS[name][2][last]
        model = train.sft(model, chunk, args.every, BATCH, args.lr, step, path, (), schedule)
        trained += time.perf_counter() - start
        backend = train.load(model)
        scores = train.verifier_scores(backend, templates, held.proofs, TOKENS)
        metas = train.meta_scores(backend, templates, held.metas, held.proofs, scores, TOKENS)
        curve.append(Point(step, scores, metas, trained))
    return curve, model


@dataclass(frozen=True)
class Rows:
    """Verification rows (with their reference analyses) and meta-verification rows."""

    proofs: list[dict]
    metas: list[dict]


@dataclass(frozen=True)
class Point:
    """One checkpoint of an arm: greedy verification and meta-verification of held-out rows."""

    step: int
    verify: train.VerifierScores
    meta: train.MetaScores
    seconds: float  # of training so far


def arm_rows(name: str, world: data.World, steps: int) -> Rows:
    """`steps * BATCH` SFT rows in the arm's mix and note style, the arm's share of them
    meta-verification rows (written in the same style)."""
    mix, notes, _, share = ARMS[name]
    metas = round(steps * BATCH * share)
    with analysis.fold_notes(notes):
        proofs = data.verifier_data(steps * BATCH - metas, 0, world, mix)
        return Rows(proofs, data.meta_data(metas, 1, world) if metas else [])


def arm_data(names: list[str], world: data.World, steps: int) -> tuple[dict[str, Rows], Rows]:
    """Each arm's training rows, and the held-out proofs and meta records every arm is
    measured on (of problems unseen by any arm's rows; columns notes)."""
    rows = {name: arm_rows(name, world, steps) for name in names}
    seen = [r for arm in rows.values() for r in arm.proofs + arm.metas]
    held = data.unseen(data.verifier_data(10 * HELDOUT, 10**6, world), seen)[:HELDOUT]
    metas = data.unseen(data.meta_data(10 * META_HELDOUT, 10**6 + 1, world), seen + held)
    return rows, Rows(held, metas[:META_HELDOUT])


def warm_up(tmp: Path, world: data.World, copy_steps: int) -> Path:
    """The learning check's copy warm-up (`_v2_stages.copy_stage`), seed 0."""
    words = tuple(data.vocabulary_words(data.load_templates()))
    settings = replace(Settings(), copy_steps=copy_steps)
    return stages.copy_stage(stages.Job(world, settings, 0, tmp, words))[0]


def save(model: Path, rows: Rows, out: Path) -> None:
    """The checkpoint and its training problems, as `v2_learning_check.py --verifier` reads."""
    shutil.copytree(model, out, dirs_exist_ok=True)
    problems = sorted({r["problem"] for r in rows.proofs + rows.metas})
    (out / "training_problems.json").write_text(json.dumps(problems))
    print(f"saved {model.name} to {out} ({len(problems)} training problems)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--every", type=int, default=300)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--arms", default="plain,drill", help=f"two of {', '.join(ARMS)}")
    parser.add_argument("--families", default="arith,linear")
    parser.add_argument("--copy-steps", type=int, default=200)
    parser.add_argument("--save", type=Path, help="keep the second arm's last checkpoint here")
    args = parser.parse_args()
    names = args.arms.split(",")
    if len(names) != 2 or not set(names) <= set(ARMS):
        parser.error(f"--arms takes two of {', '.join(ARMS)}")
    if args.save and not os.access(args.save if args.save.exists() else args.save.parent, os.W_OK):
        parser.error(f"--save {args.save}: not a writable place")  # found now, not hours later
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with (
        TemporaryDirectory() as tmp,
        ProcessPoolExecutor(2, context, init_worker, (1,)) as pool,
    ):
        world = data.World(families=tuple(args.families.split(",")))
        copy = pool.submit(warm_up, Path(tmp), world, args.copy_steps)
        rows, held = arm_data(names, world, args.steps)
        arms = {m: pool.submit(arm, m, rows[m], held, copy.result(), Path(tmp), args)
                for m in names}  # fmt: skip
        results = {m: f.result() for m, f in arms.items()}
        if args.save:
            save(results[names[1]][1], rows[names[1]], args.save)
    report(args, names, {m: curve for m, (curve, _) in results.items()})


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1%}"


def report(args: argparse.Namespace, names: list[str], curves: dict[str, list[Point]]) -> None:
    """The verification table, the meta-verification table, and the ratio to the peer."""
    print(f"verifier SFT, families {args.families}, batch {BATCH}, lr {args.lr:g}; greedy "
          f"accuracy on {HELDOUT} planted held-out proofs of unseen problems")  # fmt: skip
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
        f"meta-verification, greedy: {META_HELDOUT} held-out meta records; and the arm's own "
        "issue-finding analyses of the held-out proofs, confirmed (meta score 1)"
    )
    print("arm      step  meta acc  faithful  wrong score  invented  missed  "
          "confirms right (n)  confirms wrong (n)")  # fmt: skip
    for name, curve in curves.items():
        for p in curve:
            v, (right, wrong) = p.meta.by_variant, p.meta.issues
            cells = [_pct(v.get(k)) for k in ("faithful", "wrong_score", "invented", "missed")]
            print(f"{name:<7} {p.step:5d}  {p.meta.accuracy:8.1%}  {cells[0]:>8}  "
                  f"{cells[1]:>11}  {cells[2]:>8}  {cells[3]:>6}  "
                  f"{_pct(p.meta.confirmed_right):>10} ({right:3d})  "
                  f"{_pct(p.meta.confirmed_wrong):>10} ({wrong:3d})")  # fmt: skip
    peer, other = names
    ratio = curves[other][-1].verify.accuracy / max(curves[peer][-1].verify.accuracy, 1e-9)
    print(f"{other} / {peer} accuracy at {args.steps} steps: {ratio:.2f}x")


if __name__ == "__main__":
    main()
