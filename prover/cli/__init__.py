"""The `prover` command line: thin commands that parse options, build configs and call the
library. User errors exit non-zero with one line and no traceback."""

from __future__ import annotations

import click

from prover.errors import ProverError


class UserError(click.ClickException):
    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


class ProverGroup(click.Group):
    """Turns library errors (`ProverError`) into one-line click errors."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ProverError as exc:
            raise UserError(str(exc), exc.exit_code) from None


@click.group(cls=ProverGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="prover")
def main() -> None:
    """Generate proofs, verify them with a model, and refine them until they pass."""


def _register() -> None:
    from prover.cli.data import data
    from prover.cli.eval import eval_command
    from prover.cli.grade import grade
    from prover.cli.registry import add_optional
    from prover.cli.score import score
    from prover.cli.solve import solve, verify
    from prover.cli.train import train

    for command in (solve, verify, score, grade, eval_command, data, train):
        main.add_command(command)
    optional = (
        ("prover.cli.sample", "sample"),
        ("prover.cli.label", "label"),
        ("prover.cli.iterate", "iterate"),
        ("prover.cli.graph", "graph"),
        ("prover.cli.lean", "lean"),
        ("prover.cli.toy", "toy"),
        ("prover.cli.templates", "templates"),
    )
    for module, name in optional:
        add_optional(main, module, name)


_register()
