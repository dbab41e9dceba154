"""`prover iterate RECIPE.yaml`: the DeepSeekMath-V2 loop of verifier training, generator
GRPO, new proofs and auto-labels, round after round. This module only parses the command line;
the recipe and its stages are `verifier_train.v2.rounds`."""

from __future__ import annotations

from pathlib import Path

import click

from prover.cli.options import TEMPLATES_OPTION
from prover.models import help_text as model_help


@click.command()
@click.argument("recipe", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Run folder: one round-N/ folder per round and state.json (a re-run "
              "resumes).")  # fmt: skip
@click.option("--model", default=None,
              help=model_help("to start from; overrides the recipe's `model`"))  # fmt: skip
@click.option("--rounds", type=click.IntRange(1), default=None, help="Override iterate.rounds.")
@click.option(
    "--max-steps",
    type=click.IntRange(1),
    default=None,
    help="Override max_steps of every GRPO stage (smoke runs).",
)
@TEMPLATES_OPTION
def iterate(recipe: Path, out: Path, model: str | None, rounds: int | None,
            max_steps: int | None, template_dir: str | None) -> None:  # fmt: skip
    """Run the DeepSeekMath-V2 loop: train the verifier on labelled proofs, initialise the
    generator from it and train it with verifier rewards, sample new proofs, auto-label them,
    add them to the verifier data, and repeat. A recipe with a `toy_prover` section first
    trains the toy prover (verifier_train/recipes/toy-prover.yaml makes `--model toy`)."""
    from prover.cli.options import quiet_transformers
    from verifier_train.v2.rounds import IterateRun, run_recipe

    quiet_transformers()
    run = IterateRun(recipe, out, model, rounds, max_steps, template_dir)
    start, done = run_recipe(run, log=click.echo)
    if not done:
        click.echo(f"no rounds; the model is {start}")
        return
    click.echo(f"{len(done)} rounds in {out}; last verifier {done[-1]['done']['verifier']}")
