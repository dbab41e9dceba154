"""`prover train iterative-grpo`: rounds of reward-model refresh (10% replay) and GRPO. This
module only parses options; the stage is `verifier_train.iterative_rl.train_iterative`."""

from __future__ import annotations

from pathlib import Path

import click

from prover.cli.train_common import stage_options, warn
from verifier_train.trainer_io import StageRun


@click.command("iterative-grpo")
@click.argument("data", metavar="DATA")
@stage_options("grpo")
@click.option(
    "--reward-model",
    "reward_model",
    default=None,
    help="The outcome reward model to start from (default: trained in round 0 "
    "from the policy's base).",
)
@click.option(
    "--rounds", type=click.IntRange(1), default=None, help="Override the recipe's iterative.rounds."
)
@click.option("--limit", type=click.IntRange(1), default=None, help="Use the first N questions.")
def iterative_grpo(data: str, recipe: Path | None, model: str | None, out: Path,
                   max_steps: int | None, reward_model: str | None, rounds: int | None,
                   limit: int | None) -> None:  # fmt: skip
    """Iterative RL on answer-graded questions (DeepSeekMath, section 4.1.4): each round samples
    the policy, retrains the reward model on the fresh samples plus 10% replay, then runs
    GRPO with it from the current policy (the reference model is reset to it). The recipe has
    `grpo`, `reward_model` and `iterative` sections; a re-run resumes."""
    from verifier_train.iterative_rl import IterativeRun, train_iterative

    config = IterativeRun(StageRun(out, recipe, model, max_steps), data, reward_model, rounds,
                          limit)  # fmt: skip
    state = train_iterative(config, log=warn, announce=click.echo)
    last = state["rounds"][-1]
    click.echo(f"{len(state['rounds'])} rounds done; policy {last['policy']}, "
               f"reward model {last['reward_model']}")  # fmt: skip
