"""Near-dedup throughput and recall: the project's MinHash stage against datatrove's stock
4-stage MinHash pipeline, datasketch MinHashLSH and rensa's RMinHashLSH with Python shingles,
on one generated corpus. Prints documents per second, recall and false removals of each,
and the ratios, from one run.

    python benchmarks/data_dedup.py [--docs 50000] [--stock-docs 5000] [--seed 0] 2>/dev/null

The corpus: `--docs` pages of about 225 words (Zipf-distributed pseudo-words and math
terms), of which `--near` (2,000) are near-duplicates of earlier pages (five random word
edits, a 5-shingle Jaccard of about 0.8) and `--copies` (1,000) exact copies, all placed after
the originals so that "keep the first" must drop exactly the planted ones. Every method
uses 5-word shingles, 128 hashes and 16 bands of 8 rows, and runs in one process. Recall is
the share of planted documents dropped; a false removal is an original that was dropped.

Rows: the project's single-rank step on documents in memory (`MinhashDedup`, verified at
estimated Jaccard >= 0.7, and LSH-only), the project's 4-stage pipeline under
LocalPipelineExecutor from JSONL to JSONL (it also runs the exact URL and text columns), the
stock datatrove pipeline from JSONL to JSONL on a `--stock-docs` corpus made the same way
(its spaCy tokenizer makes it too slow for the full corpus), datasketch and rensa on texts
in memory. This benchmark does NOT measure multi-worker scaling or the exact-dedup stages
alone; datatrove's logs go to stderr.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import orjson

os.environ.setdefault("HF_HUB_OFFLINE", "1")

MATH = (
    "theorem lemma proof integer prime modulo equation solve derivative integral sum "
    "product matrix vector polynomial root triangle angle circle radius probability "
    "function limit series converge let suppose therefore hence where x y z n k"
).split()
Corpus = tuple[list[str], int, np.ndarray]  # texts, number of originals, planted Jaccards


def _vocabulary(rng: np.random.Generator, size: int = 30_000) -> np.ndarray:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    words = {"".join(rng.choice(letters, rng.integers(2, 10))) for _ in range(size)}
    return np.array(MATH + sorted(words))


def _edit(words: list[str], vocab: np.ndarray, rng: np.random.Generator, edits: int) -> list[str]:
    words = list(words)
    for _ in range(edits):
        at, kind = int(rng.integers(len(words))), int(rng.integers(3))
        if kind == 0:
            words[at] = str(rng.choice(vocab))
        elif kind == 1:
            words.insert(at, str(rng.choice(vocab)))
        else:
            del words[at]
    return words


def shingles(text: str, n: int = 5) -> list[str]:
    """The baselines' Python shingling: lower-cased whitespace words, joined n-grams."""
    words = text.lower().split()
    return [" ".join(words[i : i + n]) for i in range(max(1, len(words) - n + 1))]


def jaccard(a: str, b: str) -> float:
    left, right = set(shingles(a)), set(shingles(b))
    return len(left & right) / len(left | right)


def make_corpus(docs: int, near: int, copies: int, seed: int) -> Corpus:
    rng = np.random.default_rng(seed)
    vocab = _vocabulary(rng)
    weights = 1 / np.arange(1, len(vocab) + 1) ** 0.8
    originals = docs - near - copies
    lengths = rng.integers(200, 251, originals)
    picks = rng.choice(len(vocab), int(lengths.sum()), p=weights / weights.sum())
    bounds = np.concatenate(([0], np.cumsum(lengths)))
    pages = [vocab[picks[a:b]].tolist() for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    texts = [" ".join(page) for page in pages]
    sources = rng.integers(originals, size=near + copies)
    edited = [" ".join(_edit(pages[s], vocab, rng, 5)) for s in sources[:near]]
    jaccards = np.array([jaccard(texts[s], e) for s, e in zip(sources[:near], edited, strict=True)])
    return texts + edited + [texts[s] for s in sources[near:]], originals, jaccards


def score(removed: set[int], corpus: Corpus, near: int) -> dict[str, float]:
    texts, originals, _ = corpus
    planted = range(originals, len(texts))
    hits = [i in removed for i in planted]
    return {
        "recall": float(np.mean(hits)),
        "near": float(np.mean(hits[:near])),
        "exact": float(np.mean(hits[near:])) if len(hits) > near else 1.0,
        "false": sum(1 for i in removed if i < originals),
    }


def project_in_memory(texts: list[str], threshold: float) -> set[int]:
    from datatrove.data import Document

    from verifier_train.data.dedup_minhash import MinhashDedup, NearDedupConfig

    step = MinhashDedup(NearDedupConfig(threshold=threshold))
    docs = (Document(text=t, id=str(i)) for i, t in enumerate(texts))
    kept = {int(d.id) for d in step.run(docs)}
    return set(range(len(texts))) - kept


def _write_jsonl(texts: list[str], folder: Path) -> None:
    folder.mkdir(parents=True)
    lines = (
        orjson.dumps({"id": str(i), "text": t, "url": f"http://x.org/{i}"})
        for i, t in enumerate(texts)
    )
    (folder / "corpus.jsonl").write_bytes(b"\n".join(lines) + b"\n")


def _kept_ids(folder: Path) -> set[int]:
    return {
        int(orjson.loads(line)["id"])
        for f in folder.glob("*.jsonl")
        for line in f.read_bytes().splitlines()
    }


def project_pipeline(texts: list[str], work: Path) -> set[int]:
    from datatrove.pipeline.writers.jsonl import JsonlWriter

    from verifier_train.data.dedup import RecordReader, run_local

    writer = JsonlWriter(str(work / "out"), compression=None)
    run_local(RecordReader(str(work / "in")), writer, work / "work")
    return set(range(len(texts))) - _kept_ids(work / "out")


def stock_pipeline(texts: list[str], work: Path) -> set[int]:
    from datatrove.executor.local import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers.jsonl import JsonlReader
    from datatrove.pipeline.writers.jsonl import JsonlWriter

    config = MinhashConfig(n_grams=5, num_buckets=16, hashes_per_bucket=8)
    read = str(work / "in")
    stages = [
        ([JsonlReader(read), MinhashDedupSignature(str(work / "sigs"), config=config)], 1),
        ([MinhashDedupBuckets(str(work / "sigs"), str(work / "buckets"), config=config)], 16),
        ([MinhashDedupCluster(str(work / "buckets"), str(work / "remove"), config=config)], 1),
        (
            [
                JsonlReader(read),
                MinhashDedupFilter(str(work / "remove")),
                JsonlWriter(str(work / "out"), compression=None),
            ],
            1,
        ),
    ]
    executor = None
    for number, (pipeline, tasks) in enumerate(stages):
        logs = str(work / f"logs{number}")
        executor = LocalPipelineExecutor(pipeline, tasks, 1, logs, depends=executor)
    executor.run()
    return set(range(len(texts))) - _kept_ids(work / "out")


def datasketch_lsh(texts: list[str]) -> set[int]:
    from datasketch import MinHash, MinHashLSH

    lsh, removed = MinHashLSH(num_perm=128, params=(16, 8)), set()
    for i, text in enumerate(texts):
        sketch = MinHash(num_perm=128, seed=1)
        sketch.update_batch([s.encode() for s in shingles(text)])
        if lsh.query(sketch):
            removed.add(i)
        else:
            lsh.insert(i, sketch)
    return removed


def rensa_lsh(texts: list[str]) -> set[int]:
    from rensa import RMinHash, RMinHashLSH

    lsh, removed = RMinHashLSH(threshold=0.7, num_perm=128, num_bands=16), set()
    for i, text in enumerate(texts):
        sketch = RMinHash(num_perm=128, seed=1)
        sketch.update(shingles(text))
        if lsh.query(sketch):
            removed.add(i)
        else:
            lsh.insert(i, sketch)
    return removed


def timed(run: Callable[[], set[int]]) -> tuple[set[int], float]:
    start = time.perf_counter()
    removed = run()
    return removed, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=50_000)
    parser.add_argument("--near", type=int, default=2_000)
    parser.add_argument("--copies", type=int, default=1_000)
    parser.add_argument("--stock-docs", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    corpus = make_corpus(args.docs, args.near, args.copies, args.seed)
    scale = args.stock_docs / args.docs
    small = make_corpus(
        args.stock_docs, round(args.near * scale), round(args.copies * scale), args.seed
    )
    texts, _, jaccards = corpus
    words = np.mean([len(t.split()) for t in texts[:2000]])
    print(
        f"corpus: {len(texts)} docs, {words:.0f} words/doc, {args.near} near-duplicates "
        f"(Jaccard mean {jaccards.mean():.3f}, {np.mean(jaccards >= 0.8):.0%} >= 0.8), "
        f"{args.copies} exact copies; stock datatrove on {len(small[0])} docs"
    )
    project_in_memory(texts[:2000], 0.7)  # warm-up: imports, numpy tables
    work = Path(tempfile.mkdtemp(prefix="dedup-bench-"))
    try:
        _write_jsonl(texts, work / "project" / "in")
        _write_jsonl(small[0], work / "stock" / "in")
        runs = [
            (
                "project MinhashDedup (verified >= 0.7)",
                corpus,
                lambda: project_in_memory(texts, 0.7),
            ),
            ("project MinhashDedup (LSH only)", corpus, lambda: project_in_memory(texts, 0.0)),
            (
                "project 4-stage pipeline, JSONL",
                corpus,
                lambda: project_pipeline(texts, work / "project"),
            ),
            (
                "datatrove stock 4-stage, JSONL",
                small,
                lambda: stock_pipeline(small[0], work / "stock"),
            ),
            ("datasketch MinHashLSH 16x8", corpus, lambda: datasketch_lsh(texts)),
            ("rensa RMinHashLSH 16x8, Python shingles", corpus, lambda: rensa_lsh(texts)),
        ]
        report(runs, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(runs: list, args: argparse.Namespace) -> None:
    rates, scores = {}, {}
    print(f"{'method':<42} {'docs':>6} {'docs/s':>8} {'recall':>7} {'near':>6} {'exact':>6} false")
    for name, corpus, run in runs:
        removed, seconds = timed(run)
        s = scores[name] = score(removed, corpus, round(args.near * len(corpus[0]) / args.docs))
        rates[name] = len(corpus[0]) / seconds
        print(
            f"{name:<42} {len(corpus[0]):>6} {rates[name]:>8.0f} {s['recall']:>7.3f} "
            f"{s['near']:>6.3f} {s['exact']:>6.3f} {s['false']:>5}"
        )
    ours, pipeline = runs[0][0], runs[2][0]
    for name, _, _ in runs[3:]:
        print(
            f"ratio vs {name}: in memory {rates[ours] / rates[name]:.1f}x, "
            f"4-stage pipeline {rates[pipeline] / rates[name]:.1f}x"
        )
    fastest = max((name for name, _, _ in runs[3:]), key=rates.get)
    print(
        f"fastest alternative: {fastest}; project in memory {rates[ours] / rates[fastest]:.2f}x "
        f"its docs/s at recall {scores[ours]['recall']:.3f} vs {scores[fastest]['recall']:.3f}, "
        f"false removals {scores[ours]['false']} vs {scores[fastest]['false']}"
    )


if __name__ == "__main__":
    main()
