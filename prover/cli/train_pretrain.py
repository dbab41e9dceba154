"""`prover train pretrain`: continued pretraining on a weighted mixture of text corpora. This
module only parses options; the stage is `verifier_train.pretrain.train_pretrain`."""

from __future__ import annotations

from pathlib import Path

import click

from prover.cli.train_common import show, stage_options, warn
from verifier_train.trainer_io import StageRun


@click.command()
@stage_options("pretrain")
@click.option("--data", "data_specs", multiple=True, metavar="NAME=PATH",
              help="A source's JSONL(.gz)/Parquet file or directory (repeatable). Replaces the "
              "paths of that source in the recipe's mixture; with no mixture, one source is "
              "all of the data.")  # fmt: skip
def pretrain(recipe: Path | None, model: str | None, out: Path, max_steps: int | None,
             data_specs: tuple[str, ...]) -> None:  # fmt: skip
    """Continued pretraining (DeepSeekMath-Base): documents joined by EOS and packed into
    blocks of max_length tokens, sources mixed by token share, multi-step lr schedule."""
    from verifier_train.pretrain import PretrainRun, train_pretrain

    run = StageRun(out, recipe, model, max_steps)
    show(train_pretrain(PretrainRun(run, data_specs), log=warn))
