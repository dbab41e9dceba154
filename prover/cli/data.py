"""`prover data ...`: thin commands over the corpus pipeline in `verifier_train.data`.

Without `--verbose`, datatrove's INFO logs stay off the terminal: its warnings still show,
and what its executors print (their own processes' too) goes to a log file
(`executor_output`). This module does not run any stage itself.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import click

from prover.cli.registry import add_optional

VERBOSE = "prover_data_verbose"  # key in click's context meta


@click.group()
@click.option("--verbose", is_flag=True, help="Show datatrove's own logs and stats.")
@click.pass_context
def data(ctx: click.Context, verbose: bool) -> None:
    """Build a math corpus: recall math pages, dedup and decontaminate documents."""
    ctx.meta[VERBOSE] = verbose
    if not verbose:
        quiet_datatrove()


def quiet_datatrove() -> None:
    """datatrove logs every task's start, stats and end; our commands print a summary. Its
    logging module resets the logger when first imported, so it is imported first."""
    import importlib.util

    if importlib.util.find_spec("datatrove") is None:
        return
    import datatrove.utils.logging  # noqa: F401 - its import adds a DEBUG sink on stderr
    from loguru import logger

    logger.remove()
    logger.add(sys.stderr, level="WARNING")


@contextlib.contextmanager
def executor_output(log: Path | None) -> Iterator[None]:
    """Unless --verbose: send what datatrove's executors print on stderr, in this process and
    in the worker processes they start, to `log` (nowhere when None). Each task resets the
    logger to INFO on stderr, and workers inherit the file descriptor, so both are moved."""
    if click.get_current_context().meta.get(VERBOSE, False):
        yield
        return
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with open(log or os.devnull, "a", encoding="utf-8") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            with contextlib.redirect_stderr(sink):
                yield
        finally:
            sink.flush()
            os.dup2(saved, 2)
            os.close(saved)
            quiet_datatrove()  # the tasks' sinks wrote to `sink`, which closes now


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
