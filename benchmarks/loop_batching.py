"""One verification stage of 32 prompts with the tiny `hf` model: all prompts in one batched
backend call (what the loop does) against one call per prompt. Prints both times and the ratio.

    python benchmarks/loop_batching.py [--prompts 32] [--max-tokens 64] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from prover.backends import Sampling, make_backend  # noqa: E402
from prover.prompts import Templates  # noqa: E402
from prover.tiny import build_tiny_model  # noqa: E402

PROBLEM = "Prove that the sum of two odd integers is even."
PROOF = "Write the integers as 2a+1 and 2b+1. Their sum is 2(a+b+1), which is even."


def stage_prompts(count: int) -> list[list[dict[str, str]]]:
    templates = Templates.load()
    # Distinct proofs, as in a real stage: each prompt differs a little in length.
    return [
        [{"role": "user", "content": templates.verification(PROBLEM, PROOF + " " * i)}]
        for i in range(count)
    ]


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        # stop_ids=0: no early EOS, so both ways generate exactly max_tokens per prompt.
        model = build_tiny_model(Path(tmp) / "tiny", stop_ids=0)
        backend = make_backend("hf", str(model), batch_size=args.prompts)
        prompts = stage_prompts(args.prompts)
        sampling = Sampling(max_tokens=args.max_tokens, seed=0)
        backend.generate(prompts[:2], 1, sampling)  # warm-up
        batched = min(
            timed(lambda: backend.generate(prompts, 1, sampling)) for _ in range(args.repeats)
        )
        single = min(
            timed(lambda: [backend.generate([p], 1, sampling) for p in prompts])
            for _ in range(args.repeats)
        )
    print(f"verification stage: {args.prompts} prompts x {args.max_tokens} new tokens, tiny hf")
    print(f"  one batched call : {batched:.3f} s")
    print(f"  one call / prompt: {single:.3f} s")
    print(f"  batched speed-up : {single / batched:.1f}x (one call per prompt as the peer)")


if __name__ == "__main__":
    main()
