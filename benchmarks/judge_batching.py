"""How the toy verifier's `generate` micro-batch size sets the time of judging generator-written
proofs: the same proofs verified greedily once and sampled several times at temperature 1,
in micro-batches of each given size. Prints the times and their ratio to the first size.

    python benchmarks/judge_batching.py --verifier DIR --proofs FILE [--count 64]
                                        [--samples 4] [--sizes 256,32]

`DIR` is a saved toy verifier (`v2_verifier_curve.py --save`), `FILE` the JSON lines of
`v2_generator_proofs.py`; `--count` proofs are drawn from it with seed 0. A batch decodes until
its longest sequence ends and every step reads the whole batch's cache, so the size decides how
long one long analysis holds the others. This script measures; it does not pick a size (the
learning check's is `_v2_train.EVAL_BATCH`).
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import _v2_data as data  # noqa: E402
from v2_generator_proofs import read_proofs  # noqa: E402

from prover.backends.base import Sampling, user_chat  # noqa: E402
from prover.backends.hf import HFBackend  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verifier", type=Path, required=True)
    parser.add_argument("--proofs", type=Path, required=True)
    parser.add_argument("--count", type=int, default=64)
    parser.add_argument("--samples", type=int, default=4)
    parser.add_argument("--sizes", default="256,32")
    parser.add_argument("--tokens", type=int, default=448)
    args = parser.parse_args()
    if not (args.verifier / "config.json").is_file():
        parser.error(f"--verifier {args.verifier}: no model there (no config.json)")
    if not args.proofs.is_file():
        parser.error(f"--proofs {args.proofs}: no such file")
    try:
        args.size_list = [int(x) for x in args.sizes.split(",")]
    except ValueError:
        parser.error(f"--sizes {args.sizes!r}: give comma-separated integers (256,32)")
    return args


def prompts(path: Path, count: int) -> list:
    rows, _ = read_proofs(path)  # unreadable lines are skipped
    random.Random(0).shuffle(rows)
    templates = data.load_templates()
    return [user_chat(templates.verification(r["problem"], r["proof"])) for r in rows[:count]]


def timed(backend: HFBackend, chats: list, n: int, sampling: Sampling) -> tuple[float, int]:
    """(seconds, longest completion in tokens) of one `generate` call."""
    start = time.perf_counter()
    outs = backend.generate(chats, n, sampling)
    return time.perf_counter() - start, max(c.completion_tokens for cs in outs for c in cs)


def main() -> None:
    args = parse_args()
    chats = prompts(args.proofs, args.count)
    if not chats:
        raise SystemExit(f"error: {args.proofs}: no readable proof rows")
    runs = {
        "greedy x 1": (1, Sampling(0.0, 1.0, args.tokens)),
        f"T 1 x {args.samples}": (args.samples, Sampling(1.0, 1.0, args.tokens, seed=0)),
    }
    print(f"{len(chats)} generator-written proofs, {args.verifier}, up to {args.tokens} new tokens")
    print(f"{'run':<12} {'batch':>5} {'seconds':>8} {'longest':>8} {'ratio':>6}")
    for name, (n, sampling) in runs.items():
        first = None
        for size in args.size_list:
            backend = HFBackend(str(args.verifier), device="cpu", batch_size=size)
            seconds, longest = timed(backend, chats, n, sampling)
            first = first or seconds
            print(f"{name:<12} {size:>5} {seconds:>8.1f} {longest:>8} {first / seconds:>5.2f}x")
    print(f"(ratio: the time in batches of {args.size_list[0]}, the peer, over this one's)")


if __name__ == "__main__":
    main()
