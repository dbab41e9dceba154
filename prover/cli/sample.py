"""`prover sample`: N proofs per problem from a generator, as records `prover label` and
`prover score` read (no verification; `prover solve` runs the whole loop)."""

from __future__ import annotations

from pathlib import Path

import click

from prover.cli.options import TEMPLATES_OPTION, backend_options, build_generator, sampling_from
from prover.errors import InputError


@click.command()
@click.argument("files", metavar="PROBLEMS...", nargs=-1, required=True,
                type=click.Path(path_type=Path, dir_okay=False))  # fmt: skip
@click.option(
    "-n",
    "--proofs",
    type=click.IntRange(1),
    default=4,
    show_default=True,
    help="Proofs per problem.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    required=True,
    help="Output JSONL, appended as proofs finish (a re-run samples what is missing).",
)
@TEMPLATES_OPTION
@backend_options
def sample(files: tuple[Path, ...], proofs: int, out: Path, template_dir: str | None,
           **opts) -> None:  # fmt: skip
    """Sample proofs for the problems in PROBLEMS (.tex files, or JSONL/JSON/CSV records with
    a `problem` field) with the generation prompt; each line holds problem, proof and the
    generator's self evaluation."""
    from prover.prompts import Templates
    from verifier_train.v2.generator import read_problems, sample_proofs

    problems, skipped = read_problems(list(files))
    for reason in skipped:
        click.echo(f"skipped {reason}", err=True)
    if not problems:
        raise InputError("no problems to sample proofs for")
    templates = Templates.load(template_dir)
    count = sample_proofs(lambda: build_generator(opts), problems, templates, proofs,
                          sampling_from(opts), out)  # fmt: skip
    click.echo(f"sampled {count} proofs for {len(problems)} problems into {out}")
