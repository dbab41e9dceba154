"""Verifications per second of batch scoring (`prover score`'s `BatchScorer`: every prompt in
one backend call, records written as they finish) against a naive loop of one backend call per
proof, on the tiny `hf` model. Prints both rates and the ratio.

    python benchmarks/scoring_throughput.py [--proofs 32] [--verifications 4] [--max-tokens 32]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from prover.backends import Sampling, make_backend, user_chat  # noqa: E402
from prover.prompts import Templates  # noqa: E402
from prover.proofsets import ProofItem  # noqa: E402
from prover.rundir import RunDir  # noqa: E402
from prover.scoring import BatchScorer, ScoreConfig  # noqa: E402
from prover.tiny import build_tiny_model  # noqa: E402


def make_items(count: int) -> list[ProofItem]:
    return [
        ProofItem(
            f"b/{i}",
            "Prove that the sum of two odd integers is even.",
            f"Write them as 2a+1 and 2b+1; the sum is 2(a+b+1).{' ' * i}",
            "b.jsonl",
            i,
        )
        for i in range(count)
    ]


def batched(backend, items, config: ScoreConfig, tmp: Path) -> float:
    start = time.perf_counter()
    run = RunDir(tmp / "run", {})
    BatchScorer(backend, config, run, tmp / "scores.jsonl").score(items)
    return time.perf_counter() - start


def naive(backend, items, config: ScoreConfig) -> float:
    templates = Templates.load()
    start = time.perf_counter()
    for item in items:
        prompt = user_chat(templates.verification(item.problem, item.proof))
        backend.generate([prompt], config.verifications, config.sampling)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--proofs", type=int, default=32)
    parser.add_argument("--verifications", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=32)
    args = parser.parse_args()
    sampling = Sampling(max_tokens=args.max_tokens, seed=0)
    config = ScoreConfig(verifications=args.verifications, sampling=sampling)
    total = args.proofs * args.verifications
    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_model(Path(tmp) / "tiny", stop_ids=0)  # every sample runs to the limit
        backend = make_backend("hf", str(model), batch_size=64)
        items = make_items(args.proofs)
        backend.generate([user_chat("warm up")], 1, sampling)
        fast = batched(backend, items, config, Path(tmp))
        slow = naive(backend, items, config)
    print(
        f"scoring {args.proofs} proofs x {args.verifications} verifications "
        f"({args.max_tokens} new tokens each), tiny hf"
    )
    print(f"  prover score (batched)  : {total / fast:8.1f} verifications/s")
    print(f"  one call per proof      : {total / slow:8.1f} verifications/s")
    print(f"  speed-up                : {slow / fast:.1f}x (one call per proof as the peer)")


if __name__ == "__main__":
    main()
