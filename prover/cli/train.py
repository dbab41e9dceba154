"""`prover train ...`: thin commands over the training stages in `verifier_train`.

Each stage's command lives in its own module (`prover/cli/train_<stage>.py`)."""

from __future__ import annotations

import click

from prover.cli.registry import add_optional


@click.group()
def train() -> None:
    """Train policies and verifiers (the `train` extra: trl, peft, accelerate)."""


STAGES = (
    ("prover.cli.train_pretrain", "pretrain"),
    ("prover.cli.train_sft", "sft"),
    ("prover.cli.train_reward_model", "reward_model"),
    ("prover.cli.train_reward_model", "step_labels"),
    ("prover.cli.train_grpo", "grpo"),
    ("prover.cli.train_iterative", "iterative_grpo"),
    ("prover.cli.train_verifier", "verifier"),
    ("prover.cli.train_verifier", "meta_verifier"),
    ("prover.cli.train_verifier", "generator"),
)


def _register() -> None:
    """A stage whose module is not there is simply not offered."""
    for module, name in STAGES:
        add_optional(train, module, name)


_register()
