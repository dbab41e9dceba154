"""Decontamination throughput: documents per second of the project's `Decontaminate` datatrove
step (document mode, driven through its `run()` with datatrove's stats) against a naive
per-document check, on one generated corpus. Prints the rates and the ratio of one run.

    python benchmarks/data_decontamination.py [--docs 50000] [--words 225] [--benchmarks 500]

The corpus: pages of about `--words` words mixing prose (Zipf-distributed words), LaTeX
sentences and, in one page of ten, non-ASCII punctuation; one page in a hundred embeds a
benchmark text whole or a 12-word part of one. The benchmark: `--benchmarks` generated problem
statements, 5% of them 3-9 words long. The naive check is the obvious one: lowercase, split
into words with a regex, build the set of the page's 10-gram tuples and intersect it with the
set of the benchmarks' 10-grams. It does not check the short texts or normalise Unicode, so it
does less than the step; decisions are compared on the 10-gram rule. This benchmark does not
measure reading or writing files, or segment mode beyond one line for orientation.
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import time

from datatrove.data import Document

from verifier_train.data import benchmark_index as bi
from verifier_train.data.decontaminate import Decontaminate

MATH_WORDS = (
    "let be an integer positive real number function prove that find all such for every "
    "there exists sequence polynomial triangle circle prime divisible sum product equal "
    "greater less than if and only then the of a in is are with where which show determine "
    "value minimum maximum points line plane angle side length area set subset"
).split()
_WORD = re.compile(r"[^\W_]+")


def vocabulary(rng: random.Random, size: int = 20_000) -> tuple[list[str], list[float]]:
    """Words with Zipf cumulative weights: math words first, then pseudo-words."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    pseudo = {"".join(rng.choices(letters, k=rng.randint(2, 10))) for _ in range(size)}
    words = MATH_WORDS + sorted(pseudo - set(MATH_WORDS))
    return words, list(itertools.accumulate(1 / (rank + 1) for rank in range(len(words))))


def latex(rng: random.Random) -> str:
    a, b, c = (rng.randint(2, 99) for _ in range(3))
    return rng.choice(
        [
            f"Let $f(x) = {a}x^2 + {b}x - {c}$, so $f'(x) = {2 * a}x + {b}$.",
            f"Then $\\frac{{{a}}}{{{b}}} + \\sqrt{{{c}}} \\le {a + b + c}$ holds.",
            f"Since $x_{{{a}}} \\equiv {b} \\pmod{{{c}}}$, the claim follows.",
        ]
    )


def sentence(rng: random.Random, vocab, weights, n: int) -> str:
    return " ".join(rng.choices(vocab, cum_weights=weights, k=n)).capitalize() + "."


def page(rng: random.Random, vocab, weights, words: int, leak: str | None) -> str:
    parts, count = [], 0
    while count < words:
        part = latex(rng) if rng.random() < 0.3 else sentence(rng, vocab, weights, 14)
        parts.append(part)
        count += len(part.split())
    if leak:
        parts.insert(rng.randrange(len(parts)), leak)
    text = " ".join(parts)
    if rng.random() < 0.1:
        text = text.replace(". ", ". “", 3).replace(" is ", " is\u00a0", 2) + " ≤ — ’"
    return text


def benchmarks(rng: random.Random, vocab, weights, count: int) -> list[str]:
    texts = []
    for i in range(count):
        if i % 20 == 0:
            texts.append(sentence(rng, vocab, weights, rng.randint(3, 9)))
        else:
            body = [sentence(rng, vocab, weights, rng.randint(8, 20)) for _ in range(3)]
            texts.append(f"{body[0]} {latex(rng)} {body[1]} {body[2]}")
    return texts


def corpus(args) -> tuple[list[Document], list[str]]:
    rng = random.Random(args.seed)
    vocab, weights = vocabulary(rng)
    bench = benchmarks(rng, vocab, weights, args.benchmarks)
    docs = []
    for i in range(args.docs):
        leak = None
        if rng.random() < 0.01:
            words = rng.choice(bench).split()
            start = rng.randrange(max(1, len(words) - 12))
            leak = " ".join(words if rng.random() < 0.5 else words[start : start + 12])
        docs.append(Document(page(rng, vocab, weights, args.words, leak), str(i)))
    return docs, bench


def naive(docs: list[Document], bench: list[str]) -> set[str]:
    """Ids of the documents that share a 10-gram with a benchmark text, the obvious way."""
    grams = set()
    for text in bench:
        tokens = _WORD.findall(text.lower())
        grams.update(zip(*(tokens[i:] for i in range(10)), strict=False))
    flagged = set()
    for doc in docs:
        tokens = _WORD.findall(doc.text.lower())
        if set(zip(*(tokens[i:] for i in range(10)), strict=False)) & grams:
            flagged.add(doc.id)
    return flagged


def project(docs: list[Document], index: bi.BenchmarkIndex, mode: str = "document") -> set[str]:
    """Ids of the documents the step drops (or cuts, in segment mode)."""
    step = Decontaminate(index, mode)
    kept = {doc.id for doc in step.run(iter(docs))}
    return {doc.id for doc in docs} - kept if mode == "document" else set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=50_000)
    parser.add_argument("--words", type=int, default=225)
    parser.add_argument("--benchmarks", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    start = time.perf_counter()
    docs, bench = corpus(args)
    mean_words = sum(len(d.text.split()) for d in docs) / len(docs)
    print(
        f"corpus: {len(docs)} documents, {mean_words:.0f} words each on average "
        f"({time.perf_counter() - start:.1f} s to generate); {len(bench)} benchmark texts"
    )

    start = time.perf_counter()
    index = bi.from_texts((bi.Item("bench", str(i)), t) for i, t in enumerate(bench))
    print(
        f"index: {len(index)} texts, {index.ngram_count} keys, "
        f"built in {1000 * (time.perf_counter() - start):.0f} ms"
    )
    project(docs[:1000], index)  # warm-up: numpy and the power tables

    start = time.perf_counter()
    flagged = naive(docs, bench)
    naive_s = time.perf_counter() - start
    start = time.perf_counter()
    dropped = project(docs, index)
    project_s = time.perf_counter() - start
    extra = [d for d in docs if d.id in dropped - flagged]
    short_only = {d.id for d in extra if all(m.length < 10 for m in index.find([d.text])[0])}
    agree = flagged == dropped - short_only
    start = time.perf_counter()
    project(docs, index, "segment")  # last: it cuts texts
    segment_s = time.perf_counter() - start

    print(
        f"naive 10-gram set intersection: {len(docs) / naive_s:>9,.0f} docs/s, "
        f"{len(flagged)} flagged"
    )
    print(
        f"Decontaminate (document mode):  {len(docs) / project_s:>9,.0f} docs/s, "
        f"{len(dropped)} dropped ({len(short_only)} by short texts only)"
    )
    print(f"Decontaminate (segment mode):   {len(docs) / segment_s:>9,.0f} docs/s")
    print(f"same decisions on the 10-gram rule: {agree}")
    print(f"ratio (project / naive): {naive_s / project_s:.1f}x")


if __name__ == "__main__":
    main()
