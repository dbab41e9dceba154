"""The toy verifier's SFT learning curve with and without the "slips" drill, in one run.

    python benchmarks/v2_verifier_curve.py [--steps 600] [--every 300] [--families linear]

Two arms side by side (one process and one torch thread each), from the same copy warm-up:
verifier SFT on toy-world proofs drawn with `toyworld.data.DEFAULT_MIX` (the held-out kinds
only) against `toyworld.rows.TRAIN_MIX` (the same kinds, the "slips" drill and 5% non-proofs),
the same number of rows, steps, batch and learning rate. At every checkpoint both are measured
greedily on the same planted held-out proofs of unseen problems (default mix). Only
verification rows: no meta-verification, no GRPO (`v2_learning_check.py` runs the whole loop).
The peer is the default-mix arm; the table gives accuracy overall and by kind.
"""

from __future__ import annotations

import argparse
import os
import random
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from tempfile import TemporaryDirectory

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import _v2_data as data  # noqa: E402
import _v2_stages as stages  # noqa: E402
import _v2_train as train  # noqa: E402
from v2_learning_check import Settings, init_worker  # noqa: E402

BATCH, HELDOUT, TOKENS = 32, 200, 320
MIXES = {"default": None, "drill": data.TRAIN_MIX}


def arm(mix_name: str, rows: list[dict], held: list[dict], copy: Path, out: Path,
        args: argparse.Namespace) -> list[tuple]:  # fmt: skip
    """[(step, accuracy, by kind, seconds of training so far)] of one arm."""
    templates = data.load_templates()
    sft_rows = data.verifier_sft_rows(rows, [], templates)
    random.Random(0).shuffle(sft_rows)
    model, trained, curve = copy, 0.0, []
    for step in range(args.every, args.steps + 1, args.every):
        start = time.perf_counter()
        chunk = sft_rows[(step - args.every) * BATCH : step * BATCH]
        model = train.sft(model, chunk, args.every, BATCH, args.lr, step, out / f"{mix_name}{step}")
        trained += time.perf_counter() - start
        scores = train.verifier_scores(train.load(model), templates, held, TOKENS)
        curve.append((step, scores.accuracy, scores.by_kind, trained))
    return curve


def arm_data(world: data.World, steps: int) -> tuple[dict[str, list[dict]], list[dict]]:
    """Each arm's training rows, and the held-out proofs both are measured on (unseen by
    either arm's rows)."""
    rows = {m: data.verifier_data(steps * BATCH, 0, world, mix) for m, mix in MIXES.items()}
    held = data.verifier_data(10 * HELDOUT, 10**6, world)
    return rows, data.unseen(held, rows["default"] + rows["drill"])[:HELDOUT]


def warm_up(tmp: Path, world: data.World, copy_steps: int) -> Path:
    """The learning check's copy warm-up (`_v2_stages.copy_stage`), seed 0."""
    words = tuple(data.vocabulary_words(data.load_templates()))
    settings = replace(Settings(), copy_steps=copy_steps)
    return stages.copy_stage(stages.Job(world, settings, 0, tmp, words))[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--every", type=int, default=300)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--families", default="linear")
    parser.add_argument("--copy-steps", type=int, default=200)
    args = parser.parse_args()
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with (
        TemporaryDirectory() as tmp,
        ProcessPoolExecutor(2, context, init_worker, (1,)) as pool,
    ):
        world = data.World(families=tuple(args.families.split(",")))
        copy = pool.submit(warm_up, Path(tmp), world, args.copy_steps)
        rows, held = arm_data(world, args.steps)
        arms = {m: pool.submit(arm, m, rows[m], held, copy.result(), Path(tmp), args)
                for m in MIXES}  # fmt: skip
        curves = {m: f.result() for m, f in arms.items()}
    print(f"verifier SFT, families {args.families}, batch {BATCH}, lr {args.lr:g}; greedy "
          f"accuracy on {HELDOUT} planted held-out proofs of unseen problems")  # fmt: skip
    print("mix      step  accuracy  correct  wrong step  skipped step  false final  train s")
    for name, curve in curves.items():
        for step, acc, kinds, seconds in curve:
            cells = [kinds.get(k, 0.0) for k in ("correct", "wrong_step", "skipped_step",
                                                   "false_final")]  # fmt: skip
            print(f"{name:<7} {step:5d}  {acc:8.1%}  {cells[0]:7.1%}  {cells[1]:10.1%}  "
                  f"{cells[2]:12.1%}  {cells[3]:11.1%}  {seconds:7.0f}")  # fmt: skip
    ratio = curves["drill"][-1][1] / max(curves["default"][-1][1], 1e-9)
    print(f"drill / default accuracy at {args.steps} steps: {ratio:.2f}x")


if __name__ == "__main__":
    main()
