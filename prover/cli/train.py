"""`prover train ...`: thin commands over the training stages in `verifier_train`."""

from __future__ import annotations

from pathlib import Path

import click

from prover.errors import InputError, require


@click.group()
def train() -> None:
    """Train policies and verifiers (the `train` extra: trl, peft, accelerate)."""


@train.command()
@click.argument("data", metavar="DATA")
@click.option(
    "--recipe",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="YAML with `model` and a `grpo` section (see verifier_train/recipes/).",
)
@click.option("--model", default=None, help="Policy to train (overrides the recipe's).")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Output directory: checkpoints and logs (a re-run resumes from the last).",
)
@click.option("--limit", type=click.IntRange(1), default=None, help="Use the first N questions.")
@click.option("--max-steps", type=int, default=None, help="Override the recipe's max_steps.")
def grpo(data: str, recipe: Path | None, model: str | None, out: Path, limit: int | None,
         max_steps: int | None) -> None:  # fmt: skip
    """GRPO on answer-graded questions. DATA is a GSM8K/MATH/CMATH file, `champ` or
    `gym:<generator>[:n]`; the reward is the DeepSeekMath verdict of the project's grader."""
    for module in ("trl", "datasets"):
        require(module, "train")
    from datasets import Dataset
    from prover.evaluation.data import load
    from prover.evaluation.tasks import build_prompt
    from verifier_train.grpo import GRPORecipe, build_trainer
    from verifier_train.recipe_yaml import read_recipe, section
    from verifier_train.rewards import answer_reward

    settings = read_recipe(recipe) if recipe else {}
    grpo_recipe = section(settings, "grpo", GRPORecipe, recipe or Path("defaults"))
    policy = model or settings.get("model")
    if not policy:
        raise InputError("no policy: pass --model or set `model` in the recipe")
    items = load(data, limit).items
    rows = [{"prompt": build_prompt(i, "cot"), "answer": i.answer} for i in items]
    overrides = {} if max_steps is None else {"max_steps": max_steps}
    trainer = build_trainer(policy, Dataset.from_list(rows), [answer_reward], grpo_recipe,
                            out, **overrides)  # fmt: skip
    last = _last_checkpoint(out)
    trainer.train(resume_from_checkpoint=str(last) if last else None)
    trainer.save_model(str(out / "final"))
    click.echo(f"trained {policy} on {len(rows)} questions; model in {out / 'final'}")


def _last_checkpoint(out: Path) -> Path | None:
    checkpoints = sorted(out.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]))
    return checkpoints[-1] if checkpoints else None


@train.command()
@click.argument(
    "files",
    metavar="DATA...",
    nargs=-1,
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
)
@click.option(
    "--recipe",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="YAML with `model` and an `sft` section (see verifier_train/recipes/).",
)
@click.option("--model", default=None, help="Model to fine-tune (overrides the recipe's).")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    required=True,
    help="Output directory: checkpoints and logs (a re-run resumes from the last).",
)
@click.option("--max-steps", type=int, default=None, help="Override the recipe's max_steps.")
@click.option("--no-check", is_flag=True, help="Skip the answer-vs-reasoning validation.")
def sft(files: tuple[Path, ...], recipe: Path | None, model: str | None, out: Path,
        max_steps: int | None, no_check: bool) -> None:  # fmt: skip
    """Supervised fine-tuning on {question, reasoning, answer, meta} records (GSM8K, MATH and
    champ files are converted); the loss falls on the completion only."""
    for module in ("trl", "datasets"):
        require(module, "train")
    from verifier_train.recipe_yaml import read_recipe, section
    from verifier_train.sft import SFTRecipe, build_trainer
    from verifier_train.sft_data import load_sft

    settings = read_recipe(recipe) if recipe else {}
    sft_recipe = section(settings, "sft", SFTRecipe, recipe or Path("defaults"))
    policy = model or settings.get("model")
    if not policy:
        raise InputError("no model: pass --model or set `model` in the recipe")
    records, rejected = load_sft(files, check_answers=not no_check)
    for reason in rejected:
        click.echo(f"skipped {reason}", err=True)
    if not records:
        raise InputError("no usable SFT records")
    overrides = {} if max_steps is None else {"max_steps": max_steps}
    trainer = build_trainer(policy, records, sft_recipe, out, **overrides)
    last = _last_checkpoint(out)
    trainer.train(resume_from_checkpoint=str(last) if last else None)
    trainer.save_model(str(out / "final"))
    click.echo(
        f"fine-tuned {policy} on {len(records)} records ({len(rejected)} skipped); "
        f"model in {out / 'final'}"
    )
