"""`prover train sft`: supervised fine-tuning on unified records. This module only parses
options; the stage is `verifier_train.sft.train_sft`."""

from __future__ import annotations

from pathlib import Path

import click

from prover.cli.train_common import show, stage_options, warn
from verifier_train.trainer_io import StageRun


@click.command()
@click.argument("files", metavar="DATA...", nargs=-1, required=True,
                type=click.Path(path_type=Path, dir_okay=False))  # fmt: skip
@stage_options("sft")
@click.option("--no-check", is_flag=True, help="Skip the answer-vs-reasoning validation.")
def sft(files: tuple[Path, ...], recipe: Path | None, model: str | None, out: Path,
        max_steps: int | None, no_check: bool) -> None:  # fmt: skip
    """Supervised fine-tuning on {question, reasoning, answer, meta} records (GSM8K, MATH and
    champ files are converted); the loss falls on the completion only."""
    from verifier_train.sft import SFTRun, train_sft

    run = StageRun(out, recipe, model, max_steps)
    show(train_sft(SFTRun(run, files, check_answers=not no_check), log=warn))
