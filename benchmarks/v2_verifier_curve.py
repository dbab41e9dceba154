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
import shutil
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import _v2_data as data  # noqa: E402
import _v2_stages as stages  # noqa: E402
import _v2_train as train  # noqa: E402
from v2_learning_check import Settings, given_verifier, init_worker  # noqa: E402

from verifier_train.v2 import toy_verifier  # noqa: E402

BATCH = 32
Stage = toy_verifier.VerifierStage
Rows = toy_verifier.StageRows
TOKENS = toy_verifier.TOKENS
# An arm is a stage of the toy verifier's recipe; `--steps`, `--every` and `--data-seed` give
# its length, chunks and rows.
GEN, WORKED = {"meta": 0.2, "generated": 0.4}, {"meta_form": "worked", "meta_written": 0.5}
ARMS = {
    "default": Stage(),
    "drill": Stage(mix="train"),
    "results": Stage(mix="train", notes="results"),
    "plain": Stage(mix="train", notes="none"),
    "cosine": Stage(mix="train", schedule="cosine", last_schedule="cosine"),
    "anneal": Stage(mix="train", last_schedule="cosine"),
    "meta": Stage(mix="train", meta=0.2),
    "gen": Stage(mix="train", generated=0.5),
    "genmeta": Stage(mix="train", **GEN),
    "genskip": Stage(mix="skip", **GEN),
    "quote": Stage(mix="train", quote=True, **GEN),
    "metawork": Stage(mix="train", **GEN, **WORKED),
    "workskip": Stage(mix="skip", **GEN, **WORKED),
}


def arm_stage(name: str, args: argparse.Namespace) -> Stage:
    """The arm's stage at the run's length, chunks, data seed and last schedule."""
    stage = ARMS[name]
    last = "cosine" if args.last_cosine else stage.last_schedule
    return replace(stage, steps=args.steps, chunk_steps=args.every, data_seed=args.data_seed,
                   last_schedule=last)  # fmt: skip


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
    templates, stage, curve = data.load_templates(), arm_stage(name, args), []

    def measured(step: int, model: Path, seconds: float) -> None:
        trained = seconds + (curve[-1].seconds if curve else 0.0)
        curve.append(measure(train.load(model), templates, held, step, trained))
        point = curve[-1]  # a progress line now: the tables come when both arms are done
        gen = f", generator-written {point.generated.accuracy:.1%}" if point.generated else ""
        print(f"  {name} {step}: planted {point.verify.accuracy:.1%}, meta records "
              f"{point.meta.accuracy:.1%}{gen}, {trained:.0f} s", flush=True)  # fmt: skip

    sft_rows = toy_verifier.sft_rows(stage, rows, templates)
    model = toy_verifier.train_stage(stage, sft_rows, start, out / name, BATCH, args.lr, measured)
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


def reserved(world: data.World) -> set[str]:
    """The problems `v2_learning_check.py` draws its held-out sets from (`_v2_stages`): kept
    out of every arm's rows, so that a saved verifier leaves the check its held-out sets."""
    s = Settings()
    return toy_verifier.reserved(world, stages.POOL * s.heldout_proofs, s.validity_pool)


def arm_rows(name: str, world: data.World, args: argparse.Namespace, away: set[str],
             generated: list[dict]) -> Rows:  # fmt: skip
    """`steps * BATCH` SFT rows of the arm's stage (`toy_verifier.stage_rows`)."""
    return toy_verifier.stage_rows(arm_stage(name, args), world, away, generated, BATCH)


def held_out(world: data.World, start_problems: set[str], generated: list[dict],
             n: int) -> Rows:  # fmt: skip
    """The held-out sets, of problems the start model did not train on: n planted proofs and
    the generator-written proofs of 3n / 4 of the file's problems (`toy_verifier.heldout`),
    and n / 2 meta records."""
    held = toy_verifier.heldout(world, generated, n, 3 * n // 4, start_problems)
    seen = start_problems | held.problems()
    metas = [r for r in data.meta_data(5 * n, 10**6 + 1, world) if r["problem"] not in seen]
    return Rows(held.proofs, metas[: n // 2], held.generated)


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
    rows, bad = toy_verifier.read_proofs(path)
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
    if args.steps % args.every:
        parser.error("--steps must be a multiple of --every")
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
