"""The toy generator: the V2 learning check's generator, trained after the toy verifier
(`toy_verifier`) and rewarded by it, run by `prover iterate` when a recipe has a
`toy_generator` section beside its `toy_verifier` one.

`train_toy_generator(recipe, verifier, copy, world, out)` runs, top to bottom:
1. SFT from the copy warm-up the verifier started from, on correct generations
   (`rows.generator_sft_rows`) of `problems` drawn problems, stopped early (`sft_steps`): a
   start well below what SFT reaches leaves GRPO something to gain;
2. GRPO with DeepSeekMath's objective (beta 0.04), rewarded by the verifier through
   `v2.stages.generator_trainer`: R_format * (0.76 R_proof + 0.24 R_self), the judge greedy
   (a greedy judge verifies each distinct proof of a step once);
3. `validity`: the exact validity and self-score calibration of its proofs of held-out
   problems, after SFT and after GRPO, in MODEL_CARD.md and `heldout.json`.

This module does NOT train the verifier, run verifier GRPO (the learning check runs 10 steps
of it per seed before judging), or compare with an exact-reward run (the check does).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from verifier_train.v2.toy_prover import HELDOUT_SEED

if TYPE_CHECKING:
    from prover.backends.base import Backend
    from verifier_train.v2.rewards import Judge, JudgeConfig

POOL = 10  # held-out problems are drawn from this many times more, minus the trained ones


@dataclass(frozen=True)
class ToyGeneratorRecipe:
    """Everything that decides the toy generator (`toy_generator:` in an iterate recipe)."""

    problems: int = 8000  # drawn training problems (draws repeat: about half are distinct)
    sft_steps: int = 400
    batch: int = 32
    learning_rate: float = 1e-3
    grpo_steps: int = 80
    grpo_batch: int = 64  # completions per step: grpo_batch / generations prompts
    generations: int = 8
    grpo_learning_rate: float = 1e-4
    generation_tokens: int = 160
    verification_tokens: int = 448
    judge_samples: int = 1
    judge_temperature: float = 0.0  # 0: greedy
    # A verification that credits a proof whose lines it misquotes, or a text outside the
    # toy language, scores 0
    # (`toyworld.analysis.quotes_faithfully`; the learning check's `--quote-check`)
    quote_check: bool = False
    heldout_problems: int = 100
    heldout_samples: int = 4  # sampled proofs per held-out problem (temperature 1)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.grpo_batch % self.generations:
            raise ValueError("toy_generator: grpo_batch must be a multiple of generations")

    def grpo(self) -> Any:
        """The GRPO stage: DeepSeekMath's objective at tiny sizes, on the CPU."""
        return toy_grpo_recipe(self.generations, self.grpo_batch, self.grpo_learning_rate,
                               self.generation_tokens, self.grpo_steps, self.seed)  # fmt: skip


def toy_grpo_recipe(generations: int, batch: int, lr: float, tokens: int, steps: int,
                    seed: int, reseed: bool = False) -> Any:  # fmt: skip
    """A `GRPORecipe` of the toy world: beta 0.04, loss "grpo", one device batch, the CPU;
    `reseed`: each step samples from its own seeded stream (`reseed_generation`)."""
    from verifier_train.grpo import GRPORecipe

    return GRPORecipe(
        num_generations=generations,
        learning_rate=lr,
        max_completion_length=tokens,
        per_device_train_batch_size=batch,
        gradient_accumulation_steps=1,
        max_steps=steps,
        seed=seed,
        use_cpu=True,
        max_prompt_length=640,
        reseed_generation=reseed,
    )


# --- Measuring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Validity:
    greedy: float  # share of greedy proofs whose exact label is 1
    sampled: float  # the same over `samples` proofs per problem at temperature 1
    sampled_mean: float  # mean exact label of the sampled proofs
    proofs: tuple[tuple[str, str], ...] = ()  # the sampled (problem, completion) pairs
    calibration: float = 0.0  # share of sampled proofs whose boxed self-score is the label
    labels: tuple[float, ...] = ()  # the exact label of each sampled proof, as `proofs`


def validity(backend: Any, templates: Any, problems: Sequence[str], samples: int,
             max_tokens: int, seed: int) -> Validity:  # fmt: skip
    """True validity (by `check_proof`) of the policy's proofs of held-out problems."""
    from prover.backends.base import Sampling, user_chat
    from prover.parse import parse_generation
    from verifier_train.v2.toyworld import check_proof

    prompts = [user_chat(templates.generation(p)) for p in problems]
    greedy = backend.generate(prompts, 1, Sampling(temperature=0, max_tokens=max_tokens))
    sampled = backend.generate(prompts, samples, Sampling(1.0, 1.0, max_tokens, seed=seed))
    g = [check_proof(p, cs[0].text).score for p, cs in zip(problems, greedy, strict=True)]
    pairs = [(p, c.text) for p, cs in zip(problems, sampled, strict=True) for c in cs]
    s = [check_proof(p, text).score for p, text in pairs]
    selves = [parse_generation(text).self_score for _, text in pairs]
    calibrated = sum(me == x for me, x in zip(selves, s, strict=True)) / len(s)
    return Validity(sum(x == 1.0 for x in g) / len(g), sum(x == 1.0 for x in s) / len(s),
                    sum(s) / len(s), tuple(pairs), calibrated, tuple(s))  # fmt: skip


def problems_of(recipe: ToyGeneratorRecipe, world: Any) -> tuple[list[dict], list[str]]:
    """(the training problems, drawn as the check draws its generator's; `heldout_problems`
    distinct held-out problem texts, none of them trained on)."""
    from verifier_train.v2.toyworld import generator_problems

    drawn = generator_problems(recipe.problems, 2, world.families, world.max_chars)
    pool = generator_problems(POOL * recipe.heldout_problems, HELDOUT_SEED + 2, world.families,
                              world.max_chars)  # fmt: skip
    seen = {p["problem"] for p in drawn}
    held = dict.fromkeys(p["problem"] for p in pool if p["problem"] not in seen)
    return drawn, list(held)[: recipe.heldout_problems]


def _measured(model: Path, recipe: ToyGeneratorRecipe, problems: list[str]) -> Validity:
    from verifier_train.v2.toy_verifier import load
    from verifier_train.v2.toyworld.rows import toy_templates

    return validity(load(model), toy_templates(), problems, recipe.heldout_samples,
                    recipe.generation_tokens, recipe.seed)  # fmt: skip


# --- Training -------------------------------------------------------------------------------


def train_toy_generator(recipe: ToyGeneratorRecipe, verifier: Path, copy: Path, world: Any,
                        out: Path, log: Callable[[str], None] = print) -> Path:  # fmt: skip
    """SFT from `copy`, then GRPO rewarded by `verifier`, under `out/`; returns `out/final`
    with MODEL_CARD.md. Finished stages are kept and GRPO resumes from its last checkpoint."""
    from verifier_train.v2.toy_prover import _copy_model, _timed, sft
    from verifier_train.v2.toyworld.rows import generator_sft_rows, toy_templates

    templates, final = toy_templates(), out / "final"
    drawn, held = problems_of(recipe, world)
    start = out / "sft"
    if not (start / "config.json").is_file():
        begin, rows = time.perf_counter(), generator_sft_rows(drawn, templates)
        sft(copy, rows, recipe.sft_steps, recipe.batch, recipe.learning_rate, recipe.seed, start)
        _timed(out, "sft", begin, log)
    if not (final / "config.json").is_file():
        begin = time.perf_counter()
        trained = _grpo(recipe, start, verifier, [p["problem"] for p in drawn], out / "grpo")
        _timed(out, "grpo", begin, log)
        _copy_model(trained, final)
    if not (final / "MODEL_CARD.md").is_file():
        log("toy generator: measuring on held-out problems")
        found = {"sft": _measured(start, recipe, held), "grpo": _measured(final, recipe, held)}
        write_card(final, recipe, verifier, found, len(held))
    return final


def toy_judge(verifier: Backend, config: JudgeConfig, quote_check: bool) -> Judge:
    """The generator's judge: the trained toy verifier behind `verifier`, sampled as `config`
    says; with `quote_check`, a verification that credits a proof whose lines it misquotes,
    or a text outside the toy language, scores 0 (`toyworld.analysis.quotes_faithfully`)."""
    from verifier_train.v2.rewards import Judge
    from verifier_train.v2.toyworld.analysis import quotes_faithfully
    from verifier_train.v2.toyworld.rows import toy_templates

    faithful = quotes_faithfully if quote_check else None
    return Judge(verifier, toy_templates(), config, faithful)


def _grpo(recipe: ToyGeneratorRecipe, start: Path, verifier: Path, problems: list[str],
          out: Path) -> Path:  # fmt: skip
    """Verifier-rewarded GRPO from `start`, resumable; the saved final model."""
    from transformers import PrinterCallback

    from verifier_train.trainer_io import train_and_save
    from verifier_train.v2.rewards import JudgeConfig
    from verifier_train.v2.stages import ProbeConfig, generator_trainer
    from verifier_train.v2.toy_verifier import load
    from verifier_train.v2.toyworld.rows import toy_templates

    config = JudgeConfig(recipe.judge_samples, recipe.judge_temperature,
                         recipe.verification_tokens)  # fmt: skip
    templates = toy_templates()
    judge = toy_judge(load(verifier), config, recipe.quote_check)
    probes = ProbeConfig(recipe.grpo_steps, 4, recipe.verification_tokens)  # once, at the end
    trainer, _ = generator_trainer(str(start), problems, recipe.grpo(), out, templates,
                                   judge, probes=probes, save_steps=20)  # fmt: skip
    trainer.remove_callback(PrinterCallback)  # a progress bar; each step's logs: metrics.jsonl
    return train_and_save(trainer, out)


def write_card(final: Path, recipe: ToyGeneratorRecipe, verifier: Path,
               found: dict[str, Validity], problems: int) -> Path:  # fmt: skip
    """MODEL_CARD.md and heldout.json of the trained toy generator."""
    from verifier_train.v2.toy_prover import _commit, training_times

    seconds = sum(training_times(final.parent).values())
    lines = [f"- after {name.upper()}: greedy {v.greedy:.1%}, sampled {v.sampled:.1%} "
             f"({recipe.heldout_samples} a problem), self-score calibration "
             f"{v.calibration:.1%}" for name, v in found.items()]  # fmt: skip
    card = final / "MODEL_CARD.md"
    card.write_text(f"""# toy generator: a prover of the toy world

A char-level Llama that writes toy-world proofs with a self-evaluation (`## Solution`, then
`## Self Evaluation` and a boxed self-score). Trained on a CPU in {seconds / 60:.0f} minutes by
`prover iterate` (`verifier_train.v2.toy_generator`): {recipe.sft_steps} SFT steps on correct
generations, then {recipe.grpo_steps} GRPO steps rewarded by the toy verifier at {verifier}.
Prompts: the toy templates (`--templates verifier_train/v2/toyworld/templates`).

Commit: {_commit()}; seed {recipe.seed}.

## Held-out figures (exact checker; {problems} problems never trained on)
{chr(10).join(lines)}

Recipe (JSON):

```json
{json.dumps(asdict(recipe), indent=2)}
```
""")
    figures = {k: asdict(v) | {"proofs": len(v.proofs)} for k, v in found.items()}  # a count
    (final / "heldout.json").write_text(json.dumps(figures, indent=2))
    return card
