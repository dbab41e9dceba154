"""`prover data ...`: thin commands over the corpus pipeline in `verifier_train.data`."""

from __future__ import annotations

import click

from prover.cli.registry import add_optional


@click.group()
@click.option("--verbose", is_flag=True, help="Show datatrove's own logs and stats.")
def data(verbose: bool) -> None:
    """Build a math corpus: recall math pages, dedup and decontaminate documents."""
    if not verbose:
        quiet_datatrove()


def quiet_datatrove() -> None:
    """datatrove logs every task's start, stats and end; our commands print a summary."""
    import importlib.util
    import sys

    if importlib.util.find_spec("loguru") is None:
        return
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING")


def _register() -> None:
    """Each stage's command lives beside its stage; a missing one is simply not offered."""
    for module, name in (
        ("prover.cli.data_dedup", "dedup"),
        ("prover.cli.data_decontaminate", "decontaminate"),
        ("prover.cli.data_run", "run"),
        ("prover.cli.data_classify", "train_classifier"),
        ("prover.cli.data_classify", "classify"),
        ("prover.cli.data_classify", "discover"),
        ("prover.cli.data_classify", "iterate"),
    ):
        add_optional(data, module, name)


_register()
