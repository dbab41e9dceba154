"""`prover train sft`: supervised fine-tuning on unified records."""

from __future__ import annotations

from pathlib import Path

import click

from prover.cli.train_common import load_stage, say, stage_options, steps
from prover.errors import InputError
from verifier_train.trainer_io import train_and_save


@click.command()
@click.argument("files", metavar="DATA...", nargs=-1, required=True,
                type=click.Path(path_type=Path, dir_okay=False))  # fmt: skip
@stage_options("sft")
@click.option("--no-check", is_flag=True, help="Skip the answer-vs-reasoning validation.")
def sft(files: tuple[Path, ...], recipe: Path | None, model: str | None, out: Path,
        max_steps: int | None, no_check: bool) -> None:  # fmt: skip
    """Supervised fine-tuning on {question, reasoning, answer, meta} records (GSM8K, MATH and
    champ files are converted); the loss falls on the completion only."""
    from verifier_train.sft import SFTRecipe, build_trainer
    from verifier_train.sft_data import load_sft

    stage, policy = load_stage(recipe, model, "sft", SFTRecipe)
    records, rejected = load_sft(files, check_answers=not no_check)
    for reason in rejected:
        click.echo(f"skipped {reason}", err=True)
    if not records:
        raise InputError("no usable SFT records")
    trainer = build_trainer(policy, records, stage, out, **steps(max_steps))
    final = train_and_save(trainer, out)
    say(trainer, f"fine-tuned {policy} on {len(records)} records ({len(rejected)} skipped); "
               f"model in {final}")  # fmt: skip
