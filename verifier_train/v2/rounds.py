"""The real stages of `prover iterate RECIPE.yaml`, wired into the round driver
(`verifier_train.v2.iterate`): verifier GRPO, generator GRPO rewarded by the verifier, sampling
and auto-labelling, all configured by one recipe file; with a `toy_prover` section, the toy
prover's cold start (`verifier_train.v2.toy_prover`) comes first and is the starting model.

The recipe holds `model`, `data` (`verifier`, optional `meta`, `problems`: file lists,
relative to the recipe), `iterate` (round settings), `verifier` / `generator` GRPO sections,
and optionally a cold start: `toy_prover` or `toy_verifier` (with `data.generator_proofs`).
`run_recipe` is the one call `prover iterate` makes.

This module does not parse command lines (`prover.cli.iterate`) or decide when a step is
finished (`verifier_train.v2.iterate.Iterate`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prover.errors import InputError
from prover.prompts import Templates
from verifier_train.grpo import GRPORecipe
from verifier_train.recipe_yaml import read_recipe, section
from verifier_train.trainer_io import check_model, check_runnable, train_and_save
from verifier_train.v2.iterate import IterateConfig, Stages


@dataclass(frozen=True)
class Plan:
    """Everything a round needs, read once from the recipe."""

    config: IterateConfig
    verifier_stage: GRPORecipe
    generator_stage: GRPORecipe
    problems: list[str]
    metas: list[dict]
    templates: Templates
    max_steps: int | None = None


def _files(recipe: dict, key: str, base: Path) -> list[Path]:
    value = (recipe.get("data") or {}).get(key) or []
    paths = [value] if isinstance(value, str) else list(value)
    return [p if p.is_absolute() else base / p for p in map(Path, paths)]


@dataclass(frozen=True)
class IterateRun:
    """What `prover iterate` was asked: the recipe, the run folder and the overrides."""

    recipe: Path
    out: Path
    model: str | None = None  # overrides the recipe's `model` (and a toy prover's cold start)
    rounds: int | None = None  # overrides iterate.rounds
    max_steps: int | None = None  # overrides max_steps of every GRPO stage
    template_dir: str | None = None


def run_recipe(run: IterateRun, log: Callable[[str], None] = print) -> tuple[str, list[dict]]:
    """The whole recipe into `run.out`, resuming what is finished: the toy prover's cold start
    (with a `toy_prover` section), then the rounds. Returns (the starting model, the rounds'
    state: each round's finished steps and outputs)."""
    from dataclasses import replace

    from verifier_train.v2.iterate import Iterate

    recipe = read_recipe(run.recipe)
    config = section(recipe, "iterate", IterateConfig, run.recipe)
    config = replace(config, rounds=run.rounds) if run.rounds else config
    # --model replaces the cold start too: no hour of toy-prover training for a model unused.
    start = None if run.model else cold_start(recipe, run, log)
    model = run.model or (str(start) if start else recipe.get("model"))
    if not model:
        raise InputError(f"no model: pass --model DIR or set `model` in {run.recipe}")
    if config.rounds == 0:
        return model, []
    model = check_model(model, "--model" if run.model else "model:")
    plan, data = read_plan(recipe, run, config, log)
    driver = Iterate(run.out, plan.config, make_stages(plan))
    return model, driver.run(model, data, on_round=lambda r: log(f"round {r['round']} done"))


def cold_start(recipe: dict, run: IterateRun, log: Callable[[str], None]) -> Path | None:
    """The model of the recipe's cold-start section, trained (or resumed) in its folder of
    `OUT/`, measured and given its MODEL_CARD.md: `toy_prover` (`OUT/toy-prover/`) or
    `toy_verifier` (`OUT/toy-verifier/`, from `data.generator_proofs`, and the toy generator
    it rewards with a `toy_generator` section); None without one."""
    from verifier_train.v2 import toy_prover

    if "toy_prover" in recipe and "toy_verifier" in recipe:
        raise InputError(f"{run.recipe}: a recipe has `toy_prover` or `toy_verifier`, not both")
    if "toy_verifier" in recipe:
        return _toy_verifier(recipe, run, log)
    if "toy_generator" in recipe:
        raise InputError(f"{run.recipe}: `toy_generator` is rewarded by a `toy_verifier`")
    if "toy_prover" not in recipe:
        return None
    toy = _cold_section(recipe, "toy_prover", toy_prover.ToyProverRecipe, run)
    final = toy_prover.train_toy_prover(toy, run.out / "toy-prover", log)
    toy_prover.finish_card(final, toy, log)
    return final


def _toy_verifier(recipe: dict, run: IterateRun, log: Callable[[str], None]) -> Path:
    """The toy verifier (`OUT/toy-verifier/`), then the toy generator it rewards when the
    recipe has a `toy_generator` section (`OUT/toy-generator/`); returns the verifier."""
    from verifier_train.v2 import toy_generator, toy_verifier
    from verifier_train.v2.toyworld.rows import World

    toy = _cold_section(recipe, "toy_verifier", toy_verifier.ToyVerifierRecipe, run)
    cls = toy_generator.ToyGeneratorRecipe
    generator = (
        _cold_section(recipe, "toy_generator", cls, run) if "toy_generator" in recipe else None
    )
    generated = read_generated(_files(recipe, "generator_proofs", run.recipe.parent), log)
    if not generated and any(s.generated or s.meta_written for s in toy.stages):
        raise InputError(f"{run.recipe}: a stage trains on generator-written proofs; list their "
                         "files in data.generator_proofs")  # fmt: skip
    out = run.out / "toy-verifier"
    final = toy_verifier.train_toy_verifier(toy, out, generated, log)
    toy_verifier.finish_card(final, toy, generated, log)
    if generator is not None:
        world = World(toy.families, toy.max_chars)
        done = toy_generator.train_toy_generator(generator, final, out / "copy", world,
                                                 run.out / "toy-generator", log)  # fmt: skip
        log(f"toy generator: {done}")
    return final


def _cold_section(recipe: dict, name: str, cls: type, run: IterateRun):
    """The recipe's `name` section as `cls`; a bad value is one line."""
    try:
        return section(recipe, name, cls, run.recipe)
    except ValueError as exc:
        raise InputError(f"{run.recipe}: {exc}") from exc


def read_generated(paths: list[Path], log: Callable[[str], None]) -> list[dict]:
    """The generator-written proofs of `paths` (`toy_verifier.read_proofs`); unreadable lines
    are reported and skipped, and a missing file or no readable row is one line."""
    from verifier_train.v2.toy_verifier import read_proofs

    rows = []
    for path in paths:
        if not path.is_file():
            raise InputError(f"data.generator_proofs: no file {path}")
        try:
            got, bad = read_proofs(path)
        except (OSError, EOFError) as exc:  # a damaged .gz
            raise InputError(f"cannot read {path}: {exc}") from exc
        if bad:
            log(f"{path}: skipped {len(bad)} unreadable lines (first: line {bad[0]})")
        rows += got
    if paths and not rows:
        raise InputError(f"data.generator_proofs: no readable proof rows in {paths[0]}")
    return rows


def read_plan(recipe: dict, run: IterateRun, config: IterateConfig,
              log: Callable[[str], None] = print) -> tuple[Plan, list[dict]]:  # fmt: skip
    """(the plan of the rounds, the initial verifier rows) from the recipe's sections."""
    from verifier_train.v2.generator import read_problems
    from verifier_train.v2.verifier import read_meta_data, read_verifier_data

    path = run.recipe
    stages = [section(recipe, name, GRPORecipe, path) for name in ("verifier", "generator")]
    for stage in stages:
        check_runnable(stage)
    data, skipped = read_verifier_data(_files(recipe, "verifier", path.parent))
    metas, meta_skipped = read_meta_data(_files(recipe, "meta", path.parent))
    problems, problem_skipped = read_problems(_files(recipe, "problems", path.parent))
    for reason in [*skipped, *meta_skipped, *problem_skipped][:20]:
        log(f"skipped {reason}")
    if not data or not problems:
        raise InputError(f"{path}: `data` needs graded `verifier` proofs and `problems`")
    templates = Templates.load(run.template_dir)
    return Plan(config, *stages, problems, metas, templates, run.max_steps), data


def _train(built: tuple, out: Path) -> str:
    trainer, _too_long = built
    return str(train_and_save(trainer, out))


def _overrides(plan: Plan) -> dict:
    return {} if plan.max_steps is None else {"max_steps": plan.max_steps}


def make_stages(plan: Plan):
    """The four steps of a round, on the real trainers, backends and labeller."""
    return Stages(
        lambda init, rows, out: _train_verifier(plan, init, rows, out),
        lambda init, verifier, out: _train_generator(plan, init, verifier, out),
        lambda generator, out, round_: _sample(plan, generator, out, round_),
        lambda verifier, proofs, out, round_: _label(plan, verifier, proofs, out, round_),
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


def _sampling(plan: Plan, round_: int):
    from prover.backends.base import Sampling

    c = plan.config
    return Sampling(c.temperature, max_tokens=c.max_tokens, seed=c.seed + round_)


def _sample(plan: Plan, generator: str, out: Path, round_: int) -> None:
    """`proofs_per_problem` proofs per problem, appended as they finish; resumable."""
    import functools

    from prover.backends import make_backend
    from verifier_train.v2.generator import sample_proofs

    backend = functools.partial(make_backend, plan.config.backend, generator)
    sample_proofs(backend, plan.problems, plan.templates, plan.config.proofs_per_problem,
                  _sampling(plan, round_), out)  # fmt: skip


def _label(plan: Plan, verifier: str, proofs: Path, out: Path, round_: int) -> list[dict]:
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
    config = LabelConfig(c.label_analyses, c.label_meta, c.label_min_valid, _sampling(plan, round_))
    fingerprint = {"verifier": verifier, "n": c.label_analyses, "m": c.label_meta,
                   "k": c.label_min_valid, "templates": plan.templates.digest()}  # fmt: skip
    run = RunDir(out.with_suffix(".run"), fingerprint, resume=True)
    backend = make_backend(c.backend, verifier)
    return AutoLabeler(backend, config, run, out, plan.templates).label(items)
