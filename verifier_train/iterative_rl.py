"""Iterative RL (DeepSeekMath sec. 4.1.4): rounds of reward-model refresh and GRPO.

Each round r, in its own folder `OUT/round-r/`:
1. sample `samples_per_question` completions per question from the current policy (any
   backend) and grade them with the project's grader -> fresh outcome-RM data
   (`rm-data.jsonl`: {prompt, completion, label});
2. continue training the current reward model on the fresh data plus a replay of earlier
   rounds' data, sized so that replay is `replay` (10%) of the mix -> `rm/final`;
3. GRPO from the current policy with the new reward model; TRL loads the reference model from
   the same starting weights, so the reference is reset to the current policy -> `policy/final`.
`OUT/state.json` records the finished rounds; a re-run resumes at the first unfinished step
(samples already graded are reused, and each trainer resumes from its last checkpoint).

`train_iterative(IterativeRun)` is the `prover train iterative-grpo` stage in one call: the
recipe's `grpo`, `reward_model` and `iterative` sections, the questions, the real sampler and
trainers, and the rounds.

This module does NOT: train process reward models in rounds (outcome RMs only, as the paper's
iterative experiment), choose the questions, parse command lines, or run rounds in parallel.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prover.errors import InputError
from prover.rundir import append_jsonl, read_jsonl, write_json
from verifier_train.trainer_io import Log, StageRun

if TYPE_CHECKING:
    from verifier_train.grpo import GRPORecipe
    from verifier_train.reward_model import RewardModelRecipe

STATE = "state.json"


@dataclass(frozen=True)
class IterativeRecipe:
    """How many rounds, and how each round's reward-model data is made."""

    rounds: int = 2
    samples_per_question: int = 8
    replay: float = 0.1  # share of historical data in each round's reward-model mix
    max_tokens: int = 1024
    temperature: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.rounds < 1 or self.samples_per_question < 1 or not 0 <= self.replay < 1:
            raise ValueError("need rounds >= 1, samples_per_question >= 1, 0 <= replay < 1")


@dataclass(frozen=True)
class Round:
    """Where a round's artefacts live."""

    index: int
    folder: Path

    @property
    def data(self) -> Path:
        return self.folder / "rm-data.jsonl"

    @property
    def reward_model(self) -> Path:
        return self.folder / "rm" / "final"

    @property
    def policy(self) -> Path:
        return self.folder / "policy" / "final"


def replay_sample(history: Sequence[dict], fresh: int, share: float, rng: random.Random):
    """Earlier records to mix in so that they are `share` of the round's data:
    k = share / (1 - share) x fresh, drawn without replacement (all of them if fewer)."""
    want = round(share / (1 - share) * fresh) if share else 0
    return rng.sample(list(history), min(want, len(history)))


def graded_samples(backend: Any, items: Sequence, recipe: IterativeRecipe) -> list[dict]:
    """Fresh outcome-RM records: policy samples per question, labelled by the grader."""
    from prover.backends.base import Sampling
    from prover.evaluation.tasks import build_prompt
    from prover.grading import grade_many

    prompts = [build_prompt(i, "cot") for i in items]
    sampling = Sampling(recipe.temperature, max_tokens=recipe.max_tokens, seed=recipe.seed)
    outputs = backend.generate(prompts, recipe.samples_per_question, sampling)
    rows = [
        {"prompt": p, "completion": c.text, "gold": i.answer}
        for p, i, cs in zip(prompts, items, outputs, strict=True)
        for c in cs
        if c.text.strip() and c.finish_reason != "prompt_too_long"
    ]
    grades = grade_many([(r["gold"], r["completion"]) for r in rows])
    return [r | {"label": g.deepseek} for r, g in zip(rows, grades, strict=True)]


def ranks():
    """The processes of this run (one without a launcher; gloo between CPU ranks)."""
    import torch
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


class IterativeRL:
    """Runs the rounds; each stage is injected so the driver stays testable and small:
    `make_backend(policy)`, `train_rm(init, examples, out) -> trainer`,
    `train_policy(policy, reward_model, out) -> trainer` (both trainers not yet trained)."""

    def __init__(self, out: Path, recipe: IterativeRecipe, make_backend: Callable,
                 train_rm: Callable, train_policy: Callable, finish: Callable):  # fmt: skip
        self.out, self.recipe = out, recipe
        self.make_backend, self.train_rm, self.train_policy = make_backend, train_rm, train_policy
        self.finish = finish  # finish(trainer, out) -> final path (train, resume, save)

    def state(self) -> dict:
        path = self.out / STATE
        return json.loads(path.read_text()) if path.exists() else {"rounds": []}

    def run(self, policy: str, reward_model: str, items: Sequence) -> dict:
        """Run the unfinished rounds from `policy` and `reward_model`; returns the state."""
        state = self.state()
        for done in state["rounds"]:
            policy, reward_model = done["policy"], done["reward_model"]
        for index in range(len(state["rounds"]), self.recipe.rounds):
            step = Round(index, self.out / f"round-{index}")
            reward_model = self._refresh_rm(step, policy, reward_model, items)
            policy = self._grpo(step, policy, reward_model)
            state["rounds"].append({"round": index, "policy": policy,
                                    "reward_model": reward_model})  # fmt: skip
            if ranks().is_main_process:  # one writer under a launcher
                write_json(self.out / STATE, state)
            ranks().wait_for_everyone()
        return state

    def _fresh_data(self, step: Round, policy: str, items: Sequence) -> list[dict]:
        """Sampled and written by the main process only; under `accelerate launch` the other
        ranks wait for it (one copy of the policy on one GPU, one writer of the file)."""
        state = ranks()
        done = step.folder / "rm-data.done"
        if state.is_main_process and not done.exists():
            step.folder.mkdir(parents=True, exist_ok=True)
            step.data.unlink(missing_ok=True)  # a partial file from a killed sampling pass
            append_jsonl(step.data, graded_samples(self.make_backend(policy), items, self.recipe))
            done.touch()
        state.wait_for_everyone()
        return read_jsonl(step.data)

    def _refresh_rm(self, step: Round, policy: str, reward_model: str, items) -> str:
        from verifier_train.reward_data import OutcomeExample

        fresh = self._fresh_data(step, policy, items)
        history = [r for k in range(step.index) for r in read_jsonl(self._round_data(k))]
        rng = random.Random(self.recipe.seed + step.index)
        mix = fresh + replay_sample(history, len(fresh), self.recipe.replay, rng)
        examples = [OutcomeExample(r["prompt"], r["completion"], bool(r["label"])) for r in mix]
        if not examples:
            raise InputError(f"round {step.index}: the policy wrote no gradable completion")
        trainer = self.train_rm(reward_model, examples, step.folder / "rm")
        return str(self.finish(trainer, step.folder / "rm"))

    def _round_data(self, k: int) -> Path:
        return Round(k, self.out / f"round-{k}").data

    def _grpo(self, step: Round, policy: str, reward_model: str) -> str:
        trainer = self.train_policy(policy, reward_model, step.folder / "policy")
        return str(self.finish(trainer, step.folder / "policy"))


# --- The `prover train iterative-grpo` stage ------------------------------------------------


@dataclass(frozen=True)
class IterativeRun:
    """What `prover train iterative-grpo` is asked: the run (its recipe has `grpo`,
    `reward_model` and `iterative` sections), the questions (the first `limit`), the reward
    model to start from (None: trained in round 0 from the policy's base) and a rounds
    override."""

    run: StageRun
    data: str
    reward_model: str | None = None
    rounds: int | None = None
    limit: int | None = None


@dataclass(frozen=True)
class _Plan:
    """The recipe's three sections and the models to start from."""

    grpo: GRPORecipe
    reward_model: RewardModelRecipe
    iterative: IterativeRecipe
    policy: str
    start_rm: str


def _plan(config: IterativeRun) -> _Plan:
    from dataclasses import replace

    from verifier_train.grpo import GRPORecipe
    from verifier_train.recipe_yaml import read_recipe, section
    from verifier_train.reward_model import RewardModelRecipe
    from verifier_train.trainer_io import check_model, load_stage

    grpo_recipe, policy = load_stage(config.run, "grpo", GRPORecipe)
    reward_model = config.reward_model
    if reward_model:
        reward_model = check_model(reward_model, "--reward-model")
    recipe = config.run.recipe
    settings = read_recipe(recipe) if recipe else {}
    where = recipe or Path("defaults")
    rm_recipe = section(settings, "reward_model", RewardModelRecipe, where)
    plan = section(settings, "iterative", IterativeRecipe, where)
    plan = replace(plan, rounds=config.rounds) if config.rounds else plan
    return _Plan(grpo_recipe, rm_recipe, plan, policy, reward_model or policy)


def train_iterative(config: IterativeRun, log: Log = print, announce: Log = print) -> dict:
    """The rounds of iterative RL into `out`, resuming what is finished; returns the state
    (each round's policy and reward model). `log` gets what was skipped, `announce` (first
    rank only) each GRPO round as it starts."""
    from prover.evaluation.data import load
    from verifier_train.trainer_io import train_and_save

    plan = _plan(config)
    items = load(config.data, config.limit).items
    if not items:
        raise InputError(f"no questions in {config.data}")
    train_policy = _policy_trainer(config, plan.grpo, log, announce)
    driver = IterativeRL(config.run.out, plan.iterative, _sampler,
                         _rm_trainer(plan.reward_model), train_policy, train_and_save)  # fmt: skip
    return driver.run(plan.policy, plan.start_rm, items)


def _sampler(policy: str):
    from prover.backends import make_backend
    from prover.backends.build import quiet_transformers

    quiet_transformers()
    return make_backend("hf", policy)


def _rm_trainer(rm_recipe: RewardModelRecipe) -> Callable:
    def train_rm(init: str, examples: list, out: Path):
        from verifier_train.reward_model import build_trainer

        trainer, _stats = build_trainer("outcome", init, examples, rm_recipe, out)
        return trainer

    return train_rm


def _policy_trainer(
    config: IterativeRun, grpo_recipe: GRPORecipe, log: Log, announce: Log
) -> Callable:
    def train_policy(policy: str, reward_model: str, out: Path):
        from verifier_train.grpo import build_trainer, load_tokenizer, question_dataset
        from verifier_train.reward_model import orm_reward_function

        tokenizer = load_tokenizer(policy)
        dataset = question_dataset(config.data, config.limit, tokenizer,
                                   grpo_recipe.max_prompt_length, log)  # fmt: skip
        reward = orm_reward_function(reward_model)
        trainer = build_trainer(policy, dataset, [reward], grpo_recipe, out, (), tokenizer,
                                **config.run.overrides())  # fmt: skip
        if trainer.is_world_process_zero():
            announce(f"GRPO round in {out} from {policy} with reward model {reward_model}")
        return trainer

    return train_policy
