"""`prover data iterate`: the DeepSeekMath recall loop, train -> recall -> discover, N rounds.

Round r trains the fastText classifier on the positives so far against the negatives, scores
every corpus page (`scored.jsonl`, all pages with `math_score`), finds math domains and URL
paths (`review.jsonl`), and adds the pages under them to the positives of round r + 1. Each
round writes to `OUT/round-<r>/`; its `counts.json` is written last, so a re-run skips the
rounds that finished and redoes the one that was interrupted. This module does not dedup or
decontaminate (other stages), and scores one corpus file in one process (`prover data run`
scales recall out with a trained model).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from prover.errors import InputError
from prover.rundir import write_json
from verifier_train.data.classifier import ClassifierConfig, classify_file, train_files
from verifier_train.data.dedup_exact import text_key
from verifier_train.data.discovery import DiscoveryConfig, discover_file
from verifier_train.data.jsonl import corpus_records


@dataclass(frozen=True)
class RecallConfig:
    """The settings of the recall loop: rounds, the recall threshold and each step's config."""

    rounds: int = 4  # DeepSeekMath ran four iterations of recall
    threshold: float = 0.5  # math_score at which a page counts as recalled
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    discovery: DiscoveryConfig = field(default_factory=DiscoveryConfig)


def iterate(
    corpus: Path, seeds: Path, negatives: Path, out: Path, config: RecallConfig
) -> list[dict]:
    """Run (or resume) every round; returns each round's counts."""
    for path in (corpus, seeds, negatives):
        if not path.is_file():
            raise InputError(f"{path}: no such file")
    positives, history = seeds, []
    for number in range(1, config.rounds + 1):
        folder = out / f"round-{number}"
        done = folder / "counts.json"
        if not done.exists():
            write_json(done, run_round(corpus, positives, negatives, folder, config, number))
        history.append(json.loads(done.read_text(encoding="utf-8")))
        positives = folder / "positives.jsonl"
    return history


def run_round(
    corpus: Path, positives: Path, negatives: Path, folder: Path, config: RecallConfig,
    number: int,
) -> dict:  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    metrics = train_files(positives, negatives, folder / "classifier.bin", config.classifier)
    scored = folder / "scored.jsonl"
    read = classify_file(corpus, scored, folder / "classifier.bin", threshold=0.0)
    domains, seeds = discover_file(
        scored, folder / "review.jsonl", folder / "seeds.jsonl", config.discovery, config.threshold
    )
    total = merge_positives([positives, folder / "seeds.jsonl"], folder / "positives.jsonl")
    return {
        "round": number,
        "classifier": asdict(metrics),
        "pages": read.get("kept", 0),
        "recalled": recalled(scored, config.threshold),
        "math_domains": len(domains),
        "new_seeds": seeds,
        "positives_next_round": total,
    }


def records(path: Path) -> list[dict]:
    """The usable records of a JSONL file (`.gz` too); bad lines are skipped, as every corpus
    stage skips them (`corpus_records`)."""
    return [record for _, record in corpus_records(path)]


def recalled(scored: Path, threshold: float) -> int:
    return sum(1 for r in records(scored) if _score(r) >= threshold)


def _score(record: dict) -> float:
    score = record.get("math_score", 0.0)
    return float(score) if isinstance(score, int | float) else 0.0


def merge_positives(sources: list[Path], dst: Path) -> int:
    """The union of the sources' records, each text once (by its normalised text key)."""
    seen, count = set(), 0
    with dst.open("w", encoding="utf-8") as out:
        for source in sources:
            for record in records(source):
                key = text_key(record["text"])
                if key not in seen:
                    seen.add(key)
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                    count += 1
    return count
