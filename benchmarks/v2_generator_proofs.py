"""Generator-written toy proofs with exact labels, as JSON lines.

These are the rows a verifier needs to be right on the proofs of the generator it will judge
(the paper trains its verifier on graded proofs of its own generator).

    python benchmarks/v2_generator_proofs.py --out gen.jsonl [--problems 2000] [--samples 4]
                                             [--families linear] [--seed 0]

A generator is trained as `v2_learning_check.py` trains its own for that seed (the copy
warm-up, then SFT on correct generations, stopped early), then samples `--samples` proofs at
temperature 1 of each of `--problems` distinct problems. Each readable proof is written as one
JSON line, {problem, proof, score, kind: "generated"}, labelled by `toyworld.check_proof`.
Lines are appended chunk by chunk, and a rerun skips the problems the file already holds.
`v2_verifier_curve.py --generator-proofs FILE` trains and measures on them.

This script does not train a verifier, and prints one progress line per chunk.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from tempfile import TemporaryDirectory

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import _v2_data as data  # noqa: E402
import _v2_scaled as scaled  # noqa: E402
import _v2_stages as stages  # noqa: E402
import _v2_train as train  # noqa: E402
from v2_learning_check import QUICK, Settings, init_worker  # noqa: E402

from prover.backends.base import Sampling, user_chat  # noqa: E402
from verifier_train.v2 import toy_verifier  # noqa: E402
from verifier_train.v2.toyworld import generator_problems  # noqa: E402

PROBLEM_SEED = 3 * 10**6  # apart from the check's training and held-out draws
CHUNK = 128  # problems per `generate` call and per appended chunk


def distinct_problems(draws: int, seed: int, world: data.World) -> list[str]:
    """The distinct problem texts of `draws` draws of the world's generator problems, in order
    (draws repeat problems: 20,000 linear draws give about 10,000 distinct ones)."""
    drawn = generator_problems(draws, seed, world.families, world.max_chars)
    return list(dict.fromkeys(p["problem"] for p in drawn))


def problems_to_sample(n: int, seed: int, world: data.World, done: set[str]) -> list[str]:
    """n distinct problems of the world (fewer if the family has fewer), minus `done`."""
    distinct = distinct_problems(20 * n, PROBLEM_SEED + seed, world)[:n]
    return [p for p in distinct if p not in done]


read_proofs = toy_verifier.read_proofs  # (rows, unreadable line numbers) of such a file


def written(out: Path) -> set[str]:
    """The problems already in `out` (resume)."""
    return {r["problem"] for r in read_proofs(out)[0]}


def sample(model: Path, problems: list[str], out: Path, args: argparse.Namespace) -> int:
    """Sample, label and append the proofs of `problems`, CHUNK at a time; proofs written."""
    backend, templates, tokens = train.load(model), data.load_templates(), args.tokens
    count, start = 0, time.perf_counter()
    text = out.read_text() if out.exists() else ""
    if text and not text.endswith("\n"):
        with out.open("a") as f:
            f.write("\n")  # end a line cut off by a crash, so the next one stays readable
    for i in range(0, len(problems), CHUNK):
        chunk = problems[i : i + CHUNK]
        prompts = [user_chat(templates.generation(p)) for p in chunk]
        outs = backend.generate(prompts, args.samples, Sampling(1.0, 1.0, tokens, seed=i))
        pairs = [(p, c.text) for p, cs in zip(chunk, outs, strict=True) for c in cs]
        proofs = scaled.generated_proofs(pairs)
        with out.open("a") as f:
            for p in proofs:
                row = {"problem": p.problem, "proof": p.solution, "score": p.label}
                f.write(json.dumps(row | {"kind": "generated"}) + "\n")
        count += len(proofs)
        print(f"  {i + len(chunk)}/{len(problems)} problems, {count} proofs, "
              f"{time.perf_counter() - start:.0f} s", flush=True)  # fmt: skip
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="JSON lines, appended")
    parser.add_argument("--problems", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=4, help="proofs per problem")
    parser.add_argument("--families", default="linear")
    parser.add_argument("--seed", type=int, default=0, help="the check's seed to train as")
    parser.add_argument("--quick", action="store_true", help="the check's --quick sizes")
    args = parser.parse_args()
    if not os.access(args.out.parent if not args.out.exists() else args.out, os.W_OK):
        parser.error(f"--out {args.out}: not a writable place")
    init_worker(1)
    settings = QUICK if args.quick else Settings()
    args.tokens = settings.generation_tokens
    world = data.World(families=tuple(args.families.split(",")))
    todo = problems_to_sample(args.problems, args.seed, world, written(args.out))
    print(f"{len(todo)} problems to sample ({args.problems} asked), {args.samples} each")
    if not todo:
        return
    with TemporaryDirectory() as tmp:
        words = tuple(data.vocabulary_words(data.load_templates()))
        job = stages.Job(world, settings, args.seed, Path(tmp), words)
        copy, _ = stages.copy_stage(job)
        start = stages.generator_sft(job, copy)
        count = sample(start.path, todo, args.out, args)
    print(f"wrote {count} proofs to {args.out}")


if __name__ == "__main__":
    main()
