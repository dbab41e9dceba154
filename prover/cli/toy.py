"""`prover toy write DIR`: the toy world's data for a smoke run of `prover iterate`.

Writes `graded.jsonl` (toy proofs with exact grades: `verifier_train.v2.toyworld.verifier_records`),
`problems.jsonl` (`generator_problems`) and `iterate.yaml` (the shipped CPU recipe, whose data
paths name these two files beside it). This module does NOT build a model
(`python -m prover.tiny DIR` does) or change the toy world; it only calls its public API.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from prover.errors import InputError

RECIPE = "iterate-v2-tiny-cpu.yaml"
FILES = ("graded.jsonl", "problems.jsonl", "iterate.yaml")


@click.group()
def toy() -> None:
    """The toy world: small problems with exactly checkable proofs."""


@click.command()
@click.argument("folder", metavar="DIR", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--proofs",
    type=click.IntRange(1),
    default=64,
    show_default=True,
    help="Graded proofs in graded.jsonl (40% correct, 20% each kind of flaw).",
)
@click.option(
    "--problems",
    type=click.IntRange(1),
    default=16,
    show_default=True,
    help="Problems in problems.jsonl.",
)
@click.option("--seed", type=int, default=0, show_default=True)
def write(folder: Path, proofs: int, problems: int, seed: int) -> None:  # fmt: skip
    """Write graded.jsonl, problems.jsonl and iterate.yaml to DIR, ready for
    `prover iterate DIR/iterate.yaml --model MODEL --out RUN`."""
    written = write_toy_data(folder, proofs, problems, seed)
    for path, count in written.items():
        click.echo(f"{path}" + (f" ({count} records)" if count else ""))


def write_toy_data(folder: Path, proofs: int, problems: int, seed: int) -> dict[Path, int]:
    """The three files (refusing to overwrite any), with their record counts (0: the recipe)."""
    from verifier_train.v2.toyworld import generator_problems, verifier_records

    taken = [name for name in FILES if (folder / name).exists()]
    if taken:
        raise InputError(f"{folder / taken[0]} exists; choose another folder")
    records = {
        "graded.jsonl": verifier_records(proofs, seed),
        "problems.jsonl": generator_problems(problems, seed + 1),
    }
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, rows in records.items():
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        (folder / name).write_text(text, encoding="utf-8")
        written[folder / name] = len(rows)
    (folder / "iterate.yaml").write_text(shipped_recipe().read_text(encoding="utf-8"))
    written[folder / "iterate.yaml"] = 0
    return written


def shipped_recipe() -> Path:
    import verifier_train

    return Path(verifier_train.__file__).parent / "recipes" / RECIPE


toy.add_command(write)
