"""`prover iterate RECIPE.yaml`: the DeepSeekMath-V2 loop of verifier training, generator
GRPO, new proofs and auto-labels, round after round (`verifier_train.v2.iterate`).

The recipe holds `model`, `data` (`verifier`, optional `meta`, `problems`: file lists,
relative to the recipe), `iterate` (round settings), and `verifier` / `generator` GRPO
sections. This module only wires the real stages into the driver."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from prover.cli.options import TEMPLATES_OPTION
from prover.errors import InputError
from prover.models import help_text as model_help


@dataclass(frozen=True)
class Plan:
    """Everything a round needs, read once from the recipe."""

    config: Any  # IterateConfig
    verifier_stage: Any
    generator_stage: Any
    problems: list[str]
    metas: list[dict]
    templates: Any
    max_steps: int | None = None


def _files(recipe: dict, key: str, base: Path) -> list[Path]:
    value = (recipe.get("data") or {}).get(key) or []
    paths = [value] if isinstance(value, str) else list(value)
    return [p if p.is_absolute() else base / p for p in map(Path, paths)]


def read_plan(path: Path, template_dir: str | None, rounds: int | None, max_steps: int | None,
              model: str | None = None):  # fmt: skip
    """(the plan, the starting model, the initial verifier rows) from RECIPE.yaml; `model`
    overrides the recipe's."""
    from dataclasses import replace

    from prover.cli.train_common import check_model, check_runnable
    from prover.prompts import Templates
    from verifier_train.grpo import GRPORecipe
    from verifier_train.recipe_yaml import read_recipe, section
    from verifier_train.v2.generator import read_problems
    from verifier_train.v2.iterate import IterateConfig
    from verifier_train.v2.verifier import read_meta_data, read_verifier_data

    recipe = read_recipe(path)
    if model:
        recipe["model"] = model
    if not recipe.get("model"):
        raise InputError(f"no model: pass --model DIR or set `model` in {path}")
    recipe["model"] = check_model(recipe["model"], "--model" if model else "model:")
    config = section(recipe, "iterate", IterateConfig, path)
    config = replace(config, rounds=rounds) if rounds else config
    stages = [section(recipe, name, GRPORecipe, path) for name in ("verifier", "generator")]
    for stage in stages:
        check_runnable(stage)
    data, skipped = read_verifier_data(_files(recipe, "verifier", path.parent))
    metas, meta_skipped = read_meta_data(_files(recipe, "meta", path.parent))
    problems, problem_skipped = read_problems(_files(recipe, "problems", path.parent))
    for reason in [*skipped, *meta_skipped, *problem_skipped][:20]:
        click.echo(f"skipped {reason}", err=True)
    if not data or not problems:
        raise InputError(f"{path}: `data` needs graded `verifier` proofs and `problems`")
    plan = Plan(config, *stages, problems, metas, Templates.load(template_dir), max_steps)
    return plan, recipe["model"], data


def _train(built: tuple, out: Path) -> str:
    from prover.cli.train_common import train_and_save

    trainer, _too_long = built
    return str(train_and_save(trainer, out))


def _overrides(plan: Plan) -> dict:
    return {} if plan.max_steps is None else {"max_steps": plan.max_steps}


def make_stages(plan: Plan):
    """The four steps of a round, on the real trainers, backends and labeller."""
    from verifier_train.v2.iterate import Stages

    return Stages(
        lambda init, rows, out: _train_verifier(plan, init, rows, out),
        lambda init, verifier, out: _train_generator(plan, init, verifier, out),
        lambda generator, out: _sample(plan, generator, out),
        lambda verifier, proofs, out: _label(plan, verifier, proofs, out),
    )


def _train_verifier(plan: Plan, init: str, rows: list[dict], out: Path) -> str:
    from verifier_train.v2.stages import verifier_trainer

    built = verifier_trainer(init, rows, plan.metas, plan.verifier_stage, out, plan.templates,
                             **_overrides(plan))  # fmt: skip
    return _train(built, out)


def _train_generator(plan: Plan, init: str, verifier: str, out: Path) -> str:
    from verifier_train.v2.rewards import Judge, JudgeConfig
    from verifier_train.v2.stages import JudgeSpec, generator_trainer

    config = plan.config
    judge_config = JudgeConfig(config.label_analyses, config.temperature, config.max_tokens)
    judge = Judge(JudgeSpec(verifier, config.backend).build(), plan.templates, judge_config)
    built = generator_trainer(init, plan.problems, plan.generator_stage, out, plan.templates,
                              judge, **_overrides(plan))  # fmt: skip
    return _train(built, out)


def _sampling(plan: Plan):
    from prover.backends.base import Sampling

    c = plan.config
    return Sampling(c.temperature, max_tokens=c.max_tokens, seed=c.seed)


def _sample(plan: Plan, generator: str, out: Path) -> None:
    """`proofs_per_problem` proofs per problem, appended as they finish; resumable."""
    import functools

    from prover.backends import make_backend
    from verifier_train.v2.generator import sample_proofs

    backend = functools.partial(make_backend, plan.config.backend, generator)
    sample_proofs(backend, plan.problems, plan.templates, plan.config.proofs_per_problem,
                  _sampling(plan), out)  # fmt: skip


def _label(plan: Plan, verifier: str, proofs: Path, out: Path) -> list[dict]:
    """Auto-labels of the usable new proofs with this round's verifier; resumable."""
    from prover.backends import make_backend
    from prover.proofsets import ProofItem
    from prover.rundir import RunDir, read_jsonl
    from verifier_train.v2.autolabel import AutoLabeler, LabelConfig

    c = plan.config
    items = [ProofItem(r["id"], r["problem"], r["solution"], str(proofs), k + 1)
             for k, r in enumerate(read_jsonl(proofs)) if r["usable"]]  # fmt: skip
    if not items:
        out.touch()
        return []
    config = LabelConfig(c.label_analyses, c.label_meta, c.label_min_valid, _sampling(plan))
    fingerprint = {"verifier": verifier, "n": c.label_analyses, "m": c.label_meta,
                   "k": c.label_min_valid, "templates": plan.templates.digest()}  # fmt: skip
    run = RunDir(out.with_suffix(".run"), fingerprint, resume=True)
    backend = make_backend(c.backend, verifier)
    return AutoLabeler(backend, config, run, out, plan.templates).label(items)


@click.command()
@click.argument("recipe", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option("--out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Run folder: one round-N/ folder per round and state.json (a re-run "
              "resumes).")  # fmt: skip
@click.option("--model", default=None,
              help=model_help("to start from; overrides the recipe's `model`"))  # fmt: skip
@click.option("--rounds", type=click.IntRange(1), default=None, help="Override iterate.rounds.")
@click.option(
    "--max-steps",
    type=click.IntRange(1),
    default=None,
    help="Override max_steps of every GRPO stage (smoke runs).",
)
@TEMPLATES_OPTION
def iterate(recipe: Path, out: Path, model: str | None, rounds: int | None,
            max_steps: int | None, template_dir: str | None) -> None:  # fmt: skip
    """Run the DeepSeekMath-V2 loop: train the verifier on labelled proofs, initialise the
    generator from it and train it with verifier rewards, sample new proofs, auto-label them,
    add them to the verifier data, and repeat."""
    from prover.cli.options import quiet_transformers
    from verifier_train.v2.iterate import Iterate

    quiet_transformers()
    plan, start, data = read_plan(recipe, template_dir, rounds, max_steps, model)
    driver = Iterate(out, plan.config, make_stages(plan))
    done = driver.run(start, data, on_round=lambda r: click.echo(f"round {r['round']} done"))
    click.echo(f"{len(done)} rounds in {out}; last verifier {done[-1]['done']['verifier']}")
