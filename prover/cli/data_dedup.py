"""`prover data dedup IN.jsonl OUT.jsonl`: exact URL dedup, exact text dedup, then MinHash
near-dedup of JSONL records with `text` and `url`, on one rank (`verifier_train.data.dedup`).

Prints, per stage, the documents in and out and the removals by reason; bad records are
counted under `read`. `--removed FILE` gets each removed record with `filter_reason`,
`duplicate_of` (the document it duplicated) and `kept_id` (the kept end of that chain).
This command does NOT run several ranks: for that, run `dedup_pipelines` under an executor.
"""

from __future__ import annotations

from pathlib import Path

import click

from prover.errors import require

FILE = click.Path(path_type=Path, dir_okay=False)


@click.command()
@click.argument("src", metavar="IN.jsonl", type=FILE)
@click.argument("dst", metavar="OUT.jsonl", type=FILE)
@click.option(
    "--shingle", type=click.IntRange(1, 64), default=5, show_default=True, help="Words per shingle."
)
@click.option(
    "--hashes", type=click.IntRange(1), default=128, show_default=True, help="MinHash permutations."
)
@click.option("--bands", type=click.IntRange(1), default=16, show_default=True, help="LSH bands.")
@click.option(
    "--rows", type=click.IntRange(1, 64), default=8, show_default=True, help="Hashes per band."
)
@click.option(
    "--threshold",
    type=click.FloatRange(0, 1),
    default=0.7,
    show_default=True,
    help="Least estimated Jaccard for an LSH candidate pair to count (0: every candidate).",
)
@click.option("--seed", type=int, default=1, show_default=True, help="MinHash seed.")
@click.option("--removed", type=FILE, help="Write the removed records here (JSONL).")
@click.option(
    "--workdir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Keep datatrove's logs and stats under DIR/prover-dedup/ (default: a temporary folder).",
)
@click.option(
    "--max-chars",
    type=click.IntRange(1),
    default=1_000_000,
    show_default=True,
    help="Longer texts are counted as huge_text and skipped.",
)
def dedup(
    src: Path,
    dst: Path,
    shingle: int,
    hashes: int,
    bands: int,
    rows: int,
    threshold: float,
    seed: int,
    removed: Path | None,
    workdir: Path | None,
    max_chars: int,
) -> None:
    """Drop exact URL duplicates, exact text duplicates, then near-duplicates (MinHash LSH)
    from IN.jsonl, keeping the first of each, and write the rest to OUT.jsonl."""
    for module in ("datatrove", "orjson", "rensa"):
        require(module, "data")
    from prover.cli.data import executor_output
    from verifier_train.data.dedup import NearDedupConfig, dedup_file

    config = NearDedupConfig(shingle, hashes, bands, rows, threshold, seed)
    with executor_output(workdir / "prover-dedup" / "datatrove.log" if workdir else None):
        counts = dedup_file(src, dst, config, workdir, removed, max_chars)
    click.echo(f"{'stage':<11} {'in':>9} {'out':>9} {'removed':>9}  reasons")
    for stage in counts:
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(stage.removed.items()))
        notes = ", ".join(f"{k} {v}" for k, v in sorted(stage.notes.items()))
        removed_count = stage.docs_in - stage.docs_out
        line = f"{stage.name:<11} {stage.docs_in:>9} {stage.docs_out:>9} {removed_count:>9}"
        click.echo(f"{line}  {reasons or '-'}" + (f" (kept: {notes})" if notes else ""))
    click.echo(f"kept {counts[-1].docs_out} of {counts[0].docs_in} records -> {dst}")
