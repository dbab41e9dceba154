"""`prover train iterative-grpo`: rounds of reward-model refresh (10% replay) and GRPO."""

from __future__ import annotations

from pathlib import Path

import click

from prover.cli.train_common import say, stage_options
from prover.errors import InputError
from verifier_train.trainer_io import train_and_save


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
    from dataclasses import replace

    from prover.cli.train_common import load_stage
    from prover.evaluation.data import load
    from verifier_train.grpo import GRPORecipe
    from verifier_train.iterative_rl import IterativeRecipe, IterativeRL
    from verifier_train.recipe_yaml import read_recipe, section
    from verifier_train.reward_model import RewardModelRecipe
    from verifier_train.trainer_io import check_model

    grpo_recipe, policy = load_stage(recipe, model, "grpo", GRPORecipe)
    if reward_model:
        reward_model = check_model(reward_model, "--reward-model")
    settings = read_recipe(recipe) if recipe else {}
    where = recipe or Path("defaults")
    rm_recipe = section(settings, "reward_model", RewardModelRecipe, where)
    plan = section(settings, "iterative", IterativeRecipe, where)
    plan = replace(plan, rounds=rounds) if rounds else plan
    items = load(data, limit).items
    if not items:
        raise InputError(f"no questions in {data}")
    overrides = {"max_steps": max_steps} if max_steps is not None else {}
    policy_trainer = _policy_trainer(data, limit, grpo_recipe, overrides)
    driver = IterativeRL(out, plan, _sampler, _rm_trainer(rm_recipe), policy_trainer,
                         train_and_save)  # fmt: skip
    state = driver.run(policy, reward_model or policy, items)
    last = state["rounds"][-1]
    click.echo(f"{len(state['rounds'])} rounds done; policy {last['policy']}, "
               f"reward model {last['reward_model']}")  # fmt: skip


def _sampler(policy: str):
    from prover.backends import make_backend
    from prover.cli.options import quiet_transformers

    quiet_transformers()
    return make_backend("hf", policy)


def _rm_trainer(rm_recipe):
    def train_rm(init: str, examples: list, out: Path):
        from verifier_train.reward_model import build_trainer

        trainer, _stats = build_trainer("outcome", init, examples, rm_recipe, out)
        return trainer

    return train_rm


def _policy_trainer(data: str, limit: int | None, grpo_recipe, overrides: dict):
    def train_policy(policy: str, reward_model: str, out: Path):
        from prover.cli.train_grpo import question_dataset
        from verifier_train.grpo import build_trainer
        from verifier_train.reward_model import orm_reward_function

        dataset = question_dataset(data, limit, policy, grpo_recipe.max_prompt_length)
        reward = orm_reward_function(reward_model)
        trainer = build_trainer(policy, dataset, [reward], grpo_recipe, out, **overrides)
        say(trainer, f"GRPO round in {out} from {policy} with reward model {reward_model}")
        return trainer

    return train_policy
