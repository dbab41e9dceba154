"""The math classifier and the recall step: fastText supervised training and page scoring.

`ClassifierConfig` holds the DeepSeekMath settings (dim 256, lr 0.1, wordNgrams 3, minCount 3,
3 epochs). `train_classifier` trains on seed positives and random negatives (JSONL records
with `text`), holds out a split of each class, reports precision, recall and F1 on it, and
saves the model (`.bin`) and the metrics (`.metrics.json` in place of its suffix).

The model holds (words + bucket) x dim floats. fastText's default of 2M n-gram buckets is
2 GB at dim 256 whatever the data, so by default the bucket count is sized from the training
text (`data_bucket`: the model about `MODEL_TO_TEXT` times the text) and reaches the paper's
2M only at about 256 MB of text; an explicit `bucket` is used as given.

Every fastText call goes through `MathClassifier`. Under numpy 2, fastText 0.9.2's
`predict()` raises "Unable to avoid copy"; `MathClassifier.score` calls the raw `model.f.predict`
line by line instead (0.9.2's raw `multilinePredict` repeats one probability for every label),
and that is the only place the workaround lives. Pin
`fasttext-wheel==0.9.2`: the numpy-2 builds sometimes fail in training with "Encountered NaN".

`MathRecall` is a datatrove filter: it scores pages in batches, stores the score in
`metadata["math_score"]` and keeps the pages at or above the threshold (reason
`below_threshold`). With `top_k_tokens` it keeps the top-scoring pages whose tokens fit the
budget (reason `over_token_budget`); tokens are `metadata["token_count"]` when present, else
whitespace words.

This module does NOT apply a token budget across ranks: `top_k_tokens` holds and ranks one
rank's pages. For a global budget run two passes: first `MathRecall(model, threshold=0)` to
write every page with its score, then `budget_cutoff((score, tokens) of all pages, budget)`
on the written scores, then `MathRecall(model, threshold=cutoff)` (or any filter on
`math_score >= cutoff`). Nor does it tokenize like fastText's training corpus of the paper
(no punctuation splitting, no language id).
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import orjson
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.logging import logger

from prover.errors import InputError, ProverError, require
from verifier_train.data.dedup_exact import BAD_RECORDS, RecordReader, record_of
from verifier_train.data.jsonl import MAX_CHARS, corpus_records

PAPER_BUCKET = 2_000_000  # fastText's default, the paper's: 2 GB at dim 256
MIN_BUCKET = 256
MODEL_TO_TEXT = 8  # a sized bucket makes the n-gram table about 8x the training text
MATH_LABEL = "__label__math"
OTHER_LABEL = "__label__other"
SCORE_KEY = "math_score"


@dataclass(frozen=True)
class ClassifierConfig:
    """fastText supervised settings (DeepSeekMath defaults) and the held-out split."""

    dim: int = 256
    lr: float = 0.1
    word_ngrams: int = 3
    min_count: int = 3
    epoch: int = 3
    bucket: int | None = None  # None: sized from the training text (`data_bucket`)
    threads: int = 4
    seed: int = 0
    holdout: float = 0.1  # fraction of each class held out for the metrics
    max_negatives: int | None = None  # sample this many negatives at random (None: all)
    threshold: float = 0.5  # the score that counts as "math" in the held-out metrics


@dataclass(frozen=True)
class Metrics:
    """Held-out precision, recall and F1 of the math label, with the split sizes."""

    precision: float
    recall: float
    f1: float
    threshold: float
    train_positives: int
    train_negatives: int
    heldout_positives: int
    heldout_negatives: int


def fasttext_line(text: str) -> str:
    """One line for fastText: lowercased, runs of whitespace (newlines too) to one space."""
    return " ".join(text.lower().split())


class MathClassifier:
    """A fastText model with a math and an other label; the only code that calls fastText."""

    def __init__(self, model: object):
        self._model = model

    @classmethod
    def train(
        cls, positives: Sequence[str], negatives: Sequence[str], config: ClassifierConfig
    ) -> MathClassifier:
        """Train on texts (preprocessed here); a NaN failure is a `ProverError`."""
        fasttext = require("fasttext", "data")
        lines = [f"{MATH_LABEL} {fasttext_line(t)}" for t in positives]
        lines += [f"{OTHER_LABEL} {fasttext_line(t)}" for t in negatives]
        random.Random(config.seed).shuffle(lines)
        with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
            f.flush()
            try:
                model = fasttext.train_supervised(**_fasttext_args(f.name, config))
            except RuntimeError as exc:
                raise ProverError(
                    f"fastText training failed: {exc} (pin fasttext-wheel==0.9.2)"
                ) from exc
        return cls(model)

    @classmethod
    def load(cls, path: Path | str) -> MathClassifier:
        if not Path(path).is_file():
            raise InputError(f"{path}: no such model file")
        fasttext = require("fasttext", "data")
        try:
            # fastText prints a deprecation notice on every load; it is noise for users
            with contextlib.redirect_stderr(io.StringIO()):
                return cls(fasttext.load_model(str(path)))
        except ValueError as exc:
            raise InputError(f"{path}: not a fastText model ({exc})") from exc

    def save(self, path: Path | str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._model.save_model(str(path))

    def score(self, texts: Sequence[str]) -> list[float]:
        """The probability of the math label for each text. The numpy-2 workaround: the raw
        `f.predict` (fastText's `predict()` fails under numpy 2), one line at a time (the raw
        `f.multilinePredict` of 0.9.2 repeats the first probability for every label)."""
        predict = self._model.f.predict
        return [_math_prob(predict(fasttext_line(t) + "\n", -1, 0.0, "replace")) for t in texts]


def data_bucket(texts: Sequence[str], dim: int) -> int:
    """n-gram buckets for these training texts: the table (bucket x dim float32) about
    `MODEL_TO_TEXT` times their UTF-8 size, between `MIN_BUCKET` and `PAPER_BUCKET`."""
    size = sum(len(t.encode("utf-8")) for t in texts)
    return max(MIN_BUCKET, min(PAPER_BUCKET, MODEL_TO_TEXT * size // (4 * dim)))


def _fasttext_args(path: str, config: ClassifierConfig) -> dict:
    return {
        "input": path,
        "dim": config.dim,
        "lr": config.lr,
        "wordNgrams": config.word_ngrams,
        "minCount": config.min_count,
        "epoch": config.epoch,
        "bucket": config.bucket,
        "thread": config.threads,
        "seed": config.seed,
        "verbose": 0,
    }


def _math_prob(predictions: Sequence[tuple[float, str]]) -> float:
    for prob, label in predictions:
        if label == MATH_LABEL:
            return min(1.0, max(0.0, float(prob)))
    return 0.0


def read_texts(path: Path, max_chars: int = MAX_CHARS) -> tuple[list[str], int]:
    """The `text` of each good JSONL record of `path` (`.gz` too), and the bad-line count."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    bad: Counter = Counter()
    texts = [record["text"] for _, record in corpus_records(path, max_chars, bad)]
    return texts, sum(bad.values())


def split_holdout(texts: Sequence[str], fraction: float, seed: int) -> tuple[list, list]:
    """(train, held out): a seeded shuffle, at least one text held out when there are two."""
    shuffled = list(texts)
    random.Random(seed).shuffle(shuffled)
    n = min(len(shuffled) - 1, max(1, round(len(shuffled) * fraction))) if fraction > 0 else 0
    return shuffled[n:], shuffled[:n]


def evaluate(
    model: MathClassifier, positives: Sequence[str], negatives: Sequence[str], threshold: float
) -> tuple[float, float, float]:
    """Precision, recall and F1 of `score >= threshold` as the math label."""
    tp = sum(s >= threshold for s in model.score(positives))
    fp = sum(s >= threshold for s in model.score(negatives))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / len(positives) if positives else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def train_classifier(
    positives: Sequence[str], negatives: Sequence[str], out: Path, config: ClassifierConfig
) -> Metrics:
    """Split, train, evaluate on the held-out split, save `out` and `out.metrics.json`."""
    if len(positives) < 2 or len(negatives) < 2:
        raise InputError("training needs at least 2 positive and 2 negative documents")
    rng = random.Random(config.seed)
    if config.max_negatives is not None and len(negatives) > config.max_negatives:
        negatives = rng.sample(list(negatives), config.max_negatives)
    pos_train, pos_held = split_holdout(positives, config.holdout, config.seed)
    neg_train, neg_held = split_holdout(negatives, config.holdout, config.seed + 1)
    if config.bucket is None:
        config = replace(config, bucket=data_bucket([*pos_train, *neg_train], config.dim))
    model = MathClassifier.train(pos_train, neg_train, config)
    precision, recall, f1 = evaluate(model, pos_held, neg_held, config.threshold)
    metrics = Metrics(precision, recall, f1, config.threshold, len(pos_train), len(neg_train),
                      len(pos_held), len(neg_held))  # fmt: skip
    model.save(out)
    payload = {"metrics": asdict(metrics), "config": asdict(config)}
    metrics_path(out).write_text(json.dumps(payload, indent=2) + "\n")
    return metrics


def metrics_path(model_path: Path) -> Path:
    """`math.bin` -> `math.metrics.json` (the suffix replaced)."""
    return model_path.with_suffix(".metrics.json")


def train_files(pos: Path, neg: Path, out: Path, config: ClassifierConfig) -> Metrics:
    """`train_classifier` on two JSONL files; bad lines are skipped (and logged)."""
    positives, bad_pos = read_texts(pos)
    negatives, bad_neg = read_texts(neg)
    if bad_pos or bad_neg:
        logger.warning(f"skipped bad records: {bad_pos} in {pos}, {bad_neg} in {neg}")
    return train_classifier(positives, negatives, out, config)


def token_count(doc: Document) -> int:
    count = doc.metadata.get("token_count")
    return count if isinstance(count, int) and count >= 0 else len(doc.text.split())


def budget_cutoff(scored: Iterable[tuple[float, int]], top_k_tokens: int) -> float:
    """The lowest score kept when pages are taken best first until the next would overflow
    `top_k_tokens`; `inf` when even the best page does not fit."""
    total, cutoff = 0, float("inf")
    for score, tokens in sorted(scored, key=lambda pair: -pair[0]):
        if total + tokens > top_k_tokens:
            break
        total, cutoff = total + tokens, score
    return cutoff


class MathRecall(BaseFilter):
    """Score pages with the math classifier; keep those at or above `threshold`, and, with
    `top_k_tokens`, only the best pages of this rank that fit the token budget."""

    name = "🧮 math recall"

    def __init__(
        self,
        model_path: str | Path,
        threshold: float = 0.5,
        top_k_tokens: int | None = None,
        batch_size: int = 1024,
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer, batch_size=batch_size)
        self.model_path = str(model_path)
        self.threshold = threshold
        self.top_k_tokens = top_k_tokens
        self._model: MathClassifier | None = None  # loaded in the worker: it does not pickle
        self._cutoff: float | None = None

    @property
    def model(self) -> MathClassifier:
        if self._model is None:
            self._model = MathClassifier.load(self.model_path)
        return self._model

    def __getstate__(self) -> dict:
        return self.__dict__ | {"_model": None}

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        return self.filter_batch([doc])[0]

    def filter_batch(self, batch: list[Document]) -> list[bool | tuple[bool, str]]:
        if self._cutoff is None:
            for doc, score in zip(batch, self.model.score([d.text for d in batch]), strict=True):
                doc.metadata[SCORE_KEY] = score
        return [self._decide(doc.metadata[SCORE_KEY]) for doc in batch]

    def _decide(self, score: float) -> bool | tuple[bool, str]:
        if score < self.threshold:
            return False, "below_threshold"
        if self._cutoff is not None and score < self._cutoff:
            return False, "over_token_budget"
        return True

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1):
        if self.top_k_tokens is None:
            yield from super().run(data, rank, world_size)
            return
        if world_size > 1 and rank == 0:
            logger.warning(f"{self.name}: the token budget applies to each of {world_size} ranks")
        docs = list(self._scored(data))
        eligible = [(d.metadata[SCORE_KEY], token_count(d)) for d in docs]
        self._cutoff = budget_cutoff((p for p in eligible if p[0] >= self.threshold),
                                     self.top_k_tokens)  # fmt: skip
        yield from super().run(iter(docs), rank, world_size)

    def _scored(self, data: DocumentsPipeline) -> Iterator[Document]:
        batch: list[Document] = []
        for doc in data:
            batch.append(doc)
            if len(batch) >= self.batch_size:
                yield from self._score_all(batch)
                batch = []
        yield from self._score_all(batch)

    def _score_all(self, batch: list[Document]) -> list[Document]:
        with self.track_time("batch"):
            for doc, score in zip(batch, self.model.score([d.text for d in batch]), strict=True):
                doc.metadata[SCORE_KEY] = score
        return batch


def classify_file(
    src: Path, dst: Path, model_path: Path, threshold: float = 0.5, top_k_tokens: int | None = None
) -> dict[str, int]:
    """Score the records of one JSONL file, write the kept ones (with `math_score`) to `dst`;
    returns counts: `read`, `bad`, `kept` and the removals by reason."""
    if not src.is_file():
        raise InputError(f"{src}: no such file")
    if dst.resolve() == src.resolve():
        raise InputError("the output must not overwrite the input")
    recall = MathRecall(model_path, threshold, top_k_tokens)
    recall.model  # noqa: B018 - fail on a bad model before reading
    with tempfile.TemporaryDirectory(prefix="classify-") as scratch:
        paths = Path(scratch) / "paths.txt"
        paths.write_text(src.name + "\n")
        reader = RecordReader(str(src.parent.resolve()), paths_file=str(paths))
        dst.parent.mkdir(parents=True, exist_ok=True)
        with dst.open("wb") as out:
            for doc in recall.run(reader.run(None, 0, 1), 0, 1):
                out.write(orjson.dumps(record_of(None, doc)) + b"\n")
    return _classify_counts(reader.stats.stats, recall.stats.stats)


def _classify_counts(read_stats, recall_stats) -> dict[str, int]:
    counts = {"read": int(read_stats["documents"].total) if "documents" in read_stats else 0}
    counts["bad"] = sum(int(v.total) for k, v in read_stats.items() if k in BAD_RECORDS)
    kept = recall_stats.get("forwarded")
    counts["kept"] = int(kept.total) if kept else 0
    for key, value in recall_stats.items():
        if key.startswith("dropped_"):
            counts[key.removeprefix("dropped_")] = int(value.total)
    return counts
