"""Can the toy verifier's model learn the arithmetic of its fold notes, and in which note style?

    python benchmarks/v2_fold_facts.py [--steps 1500] [--every 500] [--facts 20000]

The toy verifier writes a note before every step that folds an operation on numbers. Where it
cannot compute the note's result it copies the number the proof wrote, and passes the proof's
slip (RESULTS.md, `v2_learning_check.py`). This measures the arithmetic alone: the same
1M-parameter character model (`toyworld.charmodel`, a fresh one per arm) learns the linear
world's fold facts, `59+16 -> ...`, written in two note styles (`toyworld.analysis`):
- `results` (the peer): the result alone, `59+16 -> 75`;
- `columns`: sums and differences worked in digit columns first (`toyworld.columns`),
  `59+16 -> 9+6=15, 5+1+1=7 -> 75`. Quotients stay one fact in both.

The facts are those of the reference analyses of linear proofs (every kind), weighted as they
occur there; 400 distinct facts are held out (`--held-out`). Both arms (one process and one
torch thread each) train on the same draws (batch 64, AdamW at 1e-3, loss on the note only)
and are measured greedily on the held-out facts: right when the note ends in the result.
It does not train a verifier (`v2_verifier_curve.py` does).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from tempfile import TemporaryDirectory

os.environ.setdefault("HF_HUB_OFFLINE", "1")
STYLES = ("results", "columns")
BATCH = 64
_FACT = re.compile(r"(?<![\d)])(-?\d+[-+/]\d+) -> (-?\d+)")  # a results-style note


def facts(n_proofs: int) -> Counter:
    """{(operation, result): count} over the notes of `n_proofs` linear reference analyses."""
    from verifier_train.v2.toyworld.analysis import fold_notes
    from verifier_train.v2.toyworld.data import labelled_proofs, reference_analysis

    with fold_notes("results"):
        texts = [reference_analysis(p) for p in labelled_proofs(n_proofs, 7, families=("linear",))]
    return Counter(m for text in texts for m in _FACT.findall(text))


def note(style: str, operation: str, result: str) -> str:
    """The note's text after `operation -> `, as the analyses write it in `style`."""
    from verifier_train.v2.toyworld.analysis import fold_note, fold_notes
    from verifier_train.v2.toyworld.expr import parse

    with fold_notes(style):
        return fold_note(parse(operation), parse(result)).split(" -> ", 1)[1]


def encode(tok, style: str, fact: tuple[str, str]) -> tuple[list[int], list[int]]:
    """(prompt ids, note ids + newline) of one fact."""
    prompt = [tok.bos_token_id, *tok(f"{fact[0]} -> ", add_special_tokens=False).input_ids]
    return prompt, tok(note(style, *fact) + "\n", add_special_tokens=False).input_ids


def batch_loss(model, tok, style: str, draw: list[tuple[str, str]]):
    """Mean next-character loss on the notes of `draw` (prompts masked), ids [BATCH, longest]."""
    import torch

    pairs = [encode(tok, style, fact) for fact in draw]
    width = max(len(p) + len(c) for p, c in pairs)
    ids = torch.full((len(pairs), width), tok.pad_token_id)
    labels = torch.full((len(pairs), width), -100)
    for i, (p, c) in enumerate(pairs):
        ids[i, : len(p) + len(c)] = torch.tensor(p + c)
        labels[i, len(p) : len(p) + len(c)] = torch.tensor(c)
    return model(input_ids=ids, labels=labels).loss


def held_out_accuracy(model, tok, style: str, held: list[tuple[str, str]]) -> float:
    """Share of `held` whose greedy note ends in the fact's result: one `generate` call over
    the prompts, left-padded to ids [len(held), longest prompt]."""
    import torch

    prompts = [encode(tok, style, fact)[0] for fact in held]
    width = max(map(len, prompts))
    ids = torch.full((len(prompts), width), tok.pad_token_id)
    mask = torch.zeros_like(ids)
    for i, prompt in enumerate(prompts):
        ids[i, width - len(prompt) :], mask[i, width - len(prompt) :] = torch.tensor(prompt), 1
    model.eval()
    with torch.no_grad():
        out = model.generate(ids, attention_mask=mask, max_new_tokens=60, do_sample=False,
                             eos_token_id=tok.convert_tokens_to_ids("\n"),
                             pad_token_id=tok.pad_token_id)  # fmt: skip
    model.train()
    right = 0
    for row, fact in zip(out[:, width:], held, strict=True):
        text = tok.decode(row, skip_special_tokens=True).split("\n")[0].strip()
        right += text == fact[1] or text.endswith(f" -> {fact[1]}")
    return right / len(held)


def arm(style: str, train: list, weights: list, held: list, args: argparse.Namespace) -> list:
    """[(step, held-out accuracy, seconds)] of a fresh model trained on `style` notes."""
    import torch
    from transformers import AutoTokenizer, LlamaForCausalLM

    from verifier_train.v2.toyworld.charmodel import build_char_model

    torch.set_num_threads(1)
    with TemporaryDirectory() as tmp:
        path = build_char_model(Path(tmp) / "m", seed=0)
        tok, model = AutoTokenizer.from_pretrained(path), LlamaForCausalLM.from_pretrained(path)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    rng, curve, trained = random.Random(2), [], 0.0
    for step in range(1, args.steps + 1):
        start = time.perf_counter()
        batch_loss(model, tok, style, rng.choices(train, weights, k=BATCH)).backward()
        opt.step()
        opt.zero_grad()
        trained += time.perf_counter() - start
        if step % args.every == 0:
            curve.append((step, held_out_accuracy(model, tok, style, held), trained))
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--facts", type=int, default=20000, help="linear proofs to draw from")
    parser.add_argument("--held-out", type=int, default=400, help="distinct facts held out")
    args = parser.parse_args()
    counts = list(facts(args.facts).items())
    random.Random(1).shuffle(counts)
    held = [fact for fact, _ in counts[: args.held_out]]
    train, weights = (
        [f for f, _ in counts[args.held_out :]],
        [n for _, n in counts[args.held_out :]],
    )
    print(f"{len(counts)} distinct facts, {len(held)} held out; {args.steps} steps of {BATCH}")
    with ProcessPoolExecutor(len(STYLES)) as pool:
        futures = {s: pool.submit(arm, s, train, weights, held, args) for s in STYLES}
        curves = {s: f.result() for s, f in futures.items()}
    print(f"{'style':8} {'step':>5} {'held-out':>9} {'seconds':>8}")
    for style, curve in curves.items():
        for step, accuracy, seconds in curve:
            print(f"{style:8} {step:>5} {accuracy:>9.1%} {seconds:>8.0f}")
    last = {s: c[-1][1] for s, c in curves.items()}
    ratio = f"{last['columns'] / last['results']:.2f}x" if last["results"] else "undefined"
    print(f"columns / results at {args.steps} steps: {ratio}")


if __name__ == "__main__":
    main()
