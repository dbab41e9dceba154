"""`prover data train-classifier POS.jsonl NEG.jsonl --out M.bin` and
`prover data classify IN.jsonl OUT.jsonl --model M.bin`: the math classifier and recall of
`verifier_train.data.classifier`, and `prover data discover SCORED.jsonl` for the domain and
URL-path discovery of `verifier_train.data.discovery`.

These commands run on one file in one process and do NOT apply a token budget across several
ranks (see `MathRecall`); `prover data iterate` chains them over rounds.
"""

from __future__ import annotations

from pathlib import Path

import click

from prover.errors import require

FILE = click.Path(path_type=Path, dir_okay=False)
BUCKET_HELP = (
    "Hash buckets for word n-grams. The model takes (words + bucket) x dim x 4 bytes on disk: "
    "2 GB for the paper's 2000000 at dim 256. Default: sized from the training text, the "
    "model about 8x its size (the paper's 2000000 from about 256 MB of text)."
)


# One option for both commands that train the classifier (the paper: 3 epochs).
EPOCH = click.option(
    "--epoch",
    type=click.IntRange(1),
    default=3,
    show_default=True,
    help="fastText training epochs (the paper's 3; more on a few pages).",
)


def _require_data() -> None:
    for module in ("datatrove", "orjson", "fasttext"):
        require(module, "data")


@click.command("train-classifier")
@click.argument("pos", metavar="POS.jsonl", type=FILE)
@click.argument("neg", metavar="NEG.jsonl", type=FILE)
@click.option("--out", type=FILE, required=True, help="Write the fastText model here (.bin).")
@click.option("--dim", type=click.IntRange(1), default=256, show_default=True)
@click.option("--lr", type=click.FloatRange(0, min_open=True), default=0.1, show_default=True)
@click.option("--word-ngrams", type=click.IntRange(1), default=3, show_default=True)
@click.option("--min-count", type=click.IntRange(1), default=3, show_default=True)
@EPOCH
@click.option(
    "--bucket",
    type=click.IntRange(1),
    default=None,
    help=BUCKET_HELP,
)
@click.option("--threads", type=click.IntRange(1), default=4, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--holdout",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.1,
    show_default=True,
    help="Share of each class held out for precision and recall.",
)
@click.option("--max-negatives", type=click.IntRange(1), help="Sample this many negatives.")
def train_classifier(pos: Path, neg: Path, out: Path, **settings) -> None:
    """Train the math classifier on seed positives and random negatives (JSONL, `text`);
    print its held-out precision and recall; save OUT and the metrics beside it, with
    .metrics.json for OUT's suffix (math.bin -> math.metrics.json)."""
    _require_data()
    from verifier_train.data.classifier import ClassifierConfig, metrics_path, train_files

    metrics = train_files(pos, neg, out, ClassifierConfig(**settings))
    click.echo(
        f"trained on {metrics.train_positives} positives, {metrics.train_negatives} negatives; "
        f"held out {metrics.heldout_positives} + {metrics.heldout_negatives}"
    )
    click.echo(
        f"held-out precision {metrics.precision:.3f} recall {metrics.recall:.3f} "
        f"f1 {metrics.f1:.3f} (threshold {metrics.threshold})"
    )
    size = out.stat().st_size / 1e6
    click.echo(f"model -> {out} ({size:.1f} MB), metrics -> {metrics_path(out)}")


@click.command()
@click.argument("src", metavar="IN.jsonl", type=FILE)
@click.argument("dst", metavar="OUT.jsonl", type=FILE)
@click.option("--model", type=FILE, required=True, help="The fastText model (.bin).")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True)
@click.option(
    "--top-k-tokens",
    type=click.IntRange(1),
    help="Keep only the best pages whose tokens (whitespace words) fit this budget.",
)
def classify(src: Path, dst: Path, model: Path, threshold: float, top_k_tokens: int | None) -> None:
    """Score each page of IN.jsonl (`math_score`), keep those at or above the threshold."""
    _require_data()
    from verifier_train.data.classifier import classify_file

    counts = classify_file(src, dst, model, threshold, top_k_tokens)
    removed = {k: v for k, v in counts.items() if k not in ("read", "bad", "kept")}
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(removed.items())) or "-"
    click.echo(f"read {counts['read']} (bad records {counts['bad']}), removed: {reasons}")
    click.echo(f"kept {counts['kept']} of {counts['read']} pages -> {dst}")


@click.command()
@click.argument("scored", metavar="SCORED.jsonl", type=FILE)
@click.option("--review", type=FILE, required=True, help="Math domains and paths (JSONL).")
@click.option("--seeds", type=FILE, required=True, help="Pages under the math paths (JSONL).")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True)
@click.option("--min-rate", type=click.FloatRange(0, 1), default=0.1, show_default=True)
@click.option("--min-pages", type=click.IntRange(1), default=10, show_default=True)
@click.option("--path-depth", type=click.IntRange(1), default=2, show_default=True)
@click.option("--min-path-pages", type=click.IntRange(1), default=5, show_default=True)
def discover(scored: Path, review: Path, seeds: Path, threshold: float, **settings) -> None:
    """Find math domains and URL paths in SCORED.jsonl (every page with `math_score`, e.g.
    from `classify --threshold 0`) and write the next round's seed positives."""
    _require_data()
    from verifier_train.data.discovery import DiscoveryConfig, discover_file

    domains, written = discover_file(scored, review, seeds, DiscoveryConfig(**settings), threshold)
    for domain in domains:
        paths = ", ".join(f"{p.prefix} {p.rate:.0%}" for p in domain.paths[:5]) or "-"
        click.echo(f"{domain.host}: {domain.recalled}/{domain.pages} recalled; paths {paths}")
    click.echo(f"{len(domains)} math domains -> {review}; {written} seed pages -> {seeds}")


@click.command()
@click.argument("corpus", metavar="CORPUS.jsonl", type=FILE)
@click.option("--seeds", type=FILE, required=True, help="Seed math pages (JSONL, `text`).")
@click.option("--negatives", type=FILE, required=True, help="Random non-math pages (JSONL).")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Folder for round-1/, round-2/, ... (a re-run resumes).",
)
@click.option("--rounds", type=click.IntRange(1), default=4, show_default=True)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1),
    default=0.5,
    show_default=True,
    help="math_score at which a page counts as recalled.",
)
@click.option(
    "--bucket",
    type=click.IntRange(1),
    default=None,
    help=BUCKET_HELP + " Each round writes a model.",
)
@click.option(
    "--min-rate",
    type=click.FloatRange(0, 1),
    default=0.1,
    show_default=True,
    help="A domain is math-related when more than this share of it is recalled.",
)
@EPOCH
def iterate(corpus: Path, seeds: Path, negatives: Path, out: Path, **settings) -> None:
    """Train -> recall -> discover for N rounds: each round's classifier, scored pages,
    discovered domains and paths, and next positives go to OUT/round-<r>/."""
    _require_data()
    from verifier_train.data.classifier import ClassifierConfig
    from verifier_train.data.discovery import DiscoveryConfig
    from verifier_train.data.iterate import RecallConfig
    from verifier_train.data.iterate import iterate as run_rounds

    config = RecallConfig(
        rounds=settings["rounds"],
        threshold=settings["threshold"],
        classifier=ClassifierConfig(bucket=settings["bucket"], epoch=settings["epoch"]),
        discovery=DiscoveryConfig(min_rate=settings["min_rate"]),
    )
    for counts in run_rounds(corpus, seeds, negatives, out, config):
        metrics = counts["classifier"]
        click.echo(
            f"round {counts['round']}: F1 {metrics['f1']:.3f}, recalled {counts['recalled']} of "
            f"{counts['pages']} pages, {counts['math_domains']} math domains, "
            f"{counts['new_seeds']} new seeds, {counts['positives_next_round']} positives next"
        )
