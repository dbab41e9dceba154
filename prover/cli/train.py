"""`prover train ...`: thin commands over the training stages in `verifier_train`."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import click

from prover.errors import InputError, require


@click.group()
def train() -> None:
    """Train policies and verifiers (the `train` extra: trl, peft, accelerate)."""


def stage_options(section_name: str):
    """--recipe, --model, --out and --max-steps, the same for every training stage."""
    options = [
        click.option("--recipe", type=click.Path(path_type=Path, dir_okay=False), default=None,
                     help=f"YAML with `model` and a `{section_name}` section "
                     "(see verifier_train/recipes/)."),
        click.option("--model", default=None, help="Model to train (overrides the recipe's)."),
        click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
                     help="Output directory: checkpoints and logs (a re-run resumes from the "
                     "last)."),
        click.option("--max-steps", type=int, default=None,
                     help="Override the recipe's max_steps."),
    ]  # fmt: skip
    return lambda func: functools.reduce(lambda f, o: o(f), reversed(options), func)


def load_stage(recipe: Path | None, model: str | None, name: str, cls: type) -> tuple[Any, str]:
    """(the stage's recipe dataclass, the model to train) from the YAML and the flags."""
    for module in ("trl", "datasets"):
        require(module, "train")
    from verifier_train.recipe_yaml import read_recipe, section

    settings = read_recipe(recipe) if recipe else {}
    stage = section(settings, name, cls, recipe or Path("defaults"))
    policy = model or settings.get("model")
    if not policy:
        raise InputError("no model: pass --model or set `model` in the recipe")
    return stage, policy


def steps(max_steps: int | None) -> dict[str, int]:
    return {} if max_steps is None else {"max_steps": max_steps}


def train_and_save(trainer, out: Path) -> Path:
    """Train, resuming from the last checkpoint in `out`; save the final model."""
    checkpoints = sorted(out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    trainer.train(resume_from_checkpoint=str(checkpoints[-1]) if checkpoints else None)
    trainer.save_model(str(out / "final"))
    return out / "final"


@train.command()
@click.argument("data", metavar="DATA")
@stage_options("grpo")
@click.option("--limit", type=click.IntRange(1), default=None, help="Use the first N questions.")
def grpo(data: str, recipe: Path | None, model: str | None, out: Path, max_steps: int | None,
         limit: int | None) -> None:  # fmt: skip
    """GRPO on answer-graded questions. DATA is a GSM8K/MATH/CMATH file, `champ` or
    `gym:<generator>[:n]`; the reward is the DeepSeekMath verdict of the project's grader."""
    from verifier_train.grpo import GRPORecipe, build_trainer

    stage, policy = load_stage(recipe, model, "grpo", GRPORecipe)
    from datasets import Dataset
    from prover.evaluation.data import load
    from prover.evaluation.tasks import build_prompt
    from verifier_train.rewards import answer_reward

    rows = [{"prompt": build_prompt(i, "cot"), "answer": i.answer} for i in load(data, limit).items]
    trainer = build_trainer(policy, Dataset.from_list(rows), [answer_reward], stage, out,
                            **steps(max_steps))  # fmt: skip
    final = train_and_save(trainer, out)
    click.echo(f"trained {policy} on {len(rows)} questions; model in {final}")


@train.command()
@click.argument("files", metavar="DATA...", nargs=-1, required=True,
                type=click.Path(path_type=Path, dir_okay=False))  # fmt: skip
@stage_options("sft")
@click.option("--no-check", is_flag=True, help="Skip the answer-vs-reasoning validation.")
def sft(files: tuple[Path, ...], recipe: Path | None, model: str | None, out: Path,
        max_steps: int | None, no_check: bool) -> None:  # fmt: skip
    """Supervised fine-tuning on {question, reasoning, answer, meta} records (GSM8K, MATH and
    champ files are converted); the loss falls on the completion only."""
    from verifier_train.sft import SFTRecipe, build_trainer
    from verifier_train.sft_data import load_sft

    stage, policy = load_stage(recipe, model, "sft", SFTRecipe)
    records, rejected = load_sft(files, check_answers=not no_check)
    for reason in rejected:
        click.echo(f"skipped {reason}", err=True)
    if not records:
        raise InputError("no usable SFT records")
    final = train_and_save(build_trainer(policy, records, stage, out, **steps(max_steps)), out)
    click.echo(f"fine-tuned {policy} on {len(records)} records ({len(rejected)} skipped); "
               f"model in {final}")  # fmt: skip
