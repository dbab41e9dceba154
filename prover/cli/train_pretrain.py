"""`prover train pretrain`: continued pretraining on a weighted mixture of text corpora."""

from __future__ import annotations

from pathlib import Path

import click

from prover.cli.train_common import load_stage, stage_options, steps
from prover.errors import InputError
from verifier_train.trainer_io import train_and_save


def parse_data(specs: tuple[str, ...]) -> dict[str, list[str]]:
    """{source name: paths} from `NAME=PATH` (or a bare PATH, named `data`), repeatable."""
    data: dict[str, list[str]] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        name, path = (name.strip(), path) if sep else ("data", spec)
        if not name or not path:
            raise InputError(f"--data {spec!r}: expected NAME=PATH")
        data.setdefault(name, []).append(path)
    return data


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
    from verifier_train.pretrain import PretrainRecipe, build_trainer, with_data
    from verifier_train.pretrain_data import MixtureStats, normalized_weights

    stage, policy = load_stage(recipe, model, "pretrain", PretrainRecipe)
    stage = with_data(stage, parse_data(data_specs))
    stats = MixtureStats()
    trainer = build_trainer(policy, stage, out, stats, **steps(max_steps))
    final = train_and_save(trainer, out)
    if line := stats.skipped_line():
        click.echo(line, err=True)
    shares = zip(stage.mixture, normalized_weights(stage.mixture), strict=True)
    mix = ", ".join(f"{s.name} {w:.0%}" for s, w in shares)
    click.echo(f"pretrained {policy} for {trainer.state.global_step} steps on {mix}; "
               f"model in {final}")  # fmt: skip
