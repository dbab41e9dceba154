"""`prover data run CONFIG.yaml [--dry-run] [--summary]`: run a whole corpus pipeline from a
recipe (`verifier_train.data.pipeline`): read, recall / dedup / decontaminate, write, under the
recipe's local, Slurm or Ray executor. Prints the stages and the executor, runs (a re-run skips
completed tasks), then prints per-stage counts from `WORKDIR/stats.json`. A missing or empty
local input is one line before anything starts; datatrove's own output goes to
`WORKDIR/logs/datatrove.log` unless `prover data --verbose`.

This command does NOT wait for Slurm jobs: after submitting, run it again with `--summary`
once they have finished to collect the counts.
"""

from __future__ import annotations

from pathlib import Path

import click

from prover.errors import require


@click.command()
@click.argument("config", metavar="CONFIG.yaml", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Print the stages and executor; run nothing.")
@click.option("--summary", is_flag=True, help="Only collect stats.json from finished tasks.")
def run(config: Path, dry_run: bool, summary: bool) -> None:
    """Run the corpus pipeline that the recipe CONFIG.yaml describes."""
    require("datatrove", "data")
    from prover.cli.data import executor_output
    from verifier_train.data import pipeline
    from verifier_train.data.recipe import load_recipe

    recipe = load_recipe(config)
    if not (dry_run or summary):
        pipeline.check_input(recipe)  # one line before any worker starts or anything is written
    for line in pipeline.describe(recipe):
        click.echo(line)
    if dry_run:
        return
    with executor_output(Path(recipe.workdir) / "logs" / "datatrove.log"):
        result = pipeline.summarize(recipe) if summary else pipeline.run(recipe)
    if result is None:
        click.echo("submitted; when the jobs finish, run again with --summary for the counts")
        return
    _report(result["stages"])
    click.echo(f"stats: {Path(recipe.workdir) / 'stats.json'}; output: {result['output']}")


def _report(stages: list[dict]) -> None:
    click.echo(f"{'stage':<16} {'docs in':>9} {'docs out':>9} {'tokens out':>11}  removed")
    for row in stages:
        removed = ", ".join(f"{k} {n}" for k, n in row["removed"].items()) or "-"
        click.echo(
            f"{row['stage']:<16} {row['docs_in']:>9} {row['docs_out']:>9} "
            f"{row['tokens_out']:>11}  {removed}"
        )
