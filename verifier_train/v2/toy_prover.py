"""The toy prover: one tiny character-level model trained on the toy world in every role.

DeepSeekMath-V2 uses one model as generator, verifier and meta-verifier; so does this one.
`train_toy_prover(recipe, out)` runs, top to bottom:
1. `charmodel.build_char_model`: a random Llama (hidden 128, 4 layers, about 1M parameters)
   whose tokenizer reads each fixed phrase of the prompts and analyses as one token;
2. a copy warm-up (`rows.copy_rows`): random strings can only be predicted by copying, so a
   few hundred steps teach the one skill every role needs first;
3. joint SFT on a shuffled mix of verification rows (analyses that re-derive every step,
   `toyworld.analysis`), meta-verification rows and generation rows (canonical proofs with a
   self-evaluation), rendered with the shipped prompt templates, so `prover solve --model toy`
   needs no `--templates`. Training runs in chunks of `chunk_steps`; each chunk restarts the
   optimizer and its warm-up (how the shipped model was trained; a resumed run continues at the
   first missing chunk);
4. `measure`: greedy verification accuracy on planted held-out proofs of unseen problems, by
   kind, and the greedy validity and self-evaluation calibration of its own proofs.

`write_card` writes MODEL_CARD.md beside the weights: the recipe (as JSON, which a test
compares with the shipped recipe), the commit and the held-out figures.

This module does NOT run GRPO (`prover iterate`'s rounds do).
"""

from __future__ import annotations

import functools
import json
import random
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from prover.errors import InputError

COPY_ROWS = 20000
HELDOUT_SEED = 10**6  # data seed of held-out draws; held-out problems are also unseen ones
CONSTANT = "constant_with_warmup"  # the toy prover's lr schedule (each chunk its own)
SCHEDULES = (CONSTANT, "cosine", "linear")  # transformers `lr_scheduler_type`s a chunk may use


@dataclass(frozen=True)
class ToyProverRecipe:
    """Everything that decides the toy prover (`toy_prover:` in an iterate recipe)."""

    families: tuple[str, ...] = ("arith", "linear")
    max_chars: int = 160  # of a correct proof
    hidden: int = 128
    layers: int = 4
    seed: int = 0
    copy_steps: int = 200
    sft_steps: int = 1500
    chunk_steps: int = 300
    sft_rows: int = 48000  # drawn and shuffled; training reads the first sft_steps * batch
    batch: int = 32
    learning_rate: float = 1e-3
    verification_share: float = 0.55  # of the SFT rows; meta as below, generation the rest
    meta_share: float = 0.10
    heldout_proofs: int = 200
    heldout_problems: int = 60
    threads: int = 1  # torch threads: results depend on it (float summation order)
    # analyses write each fold's computation: true or "columns", "results", false or "none"
    fold_notes: bool | str = True  # (`toyworld.analysis.fold_notes`)
    quote_first: bool = False  # analysis lines start with the proof's line (`analysis.QUOTE`)
    meta_form: str = "sentence"  # meta answers: one sentence, or "worked" (`analysis.META`)
    # the last chunk's learning-rate schedule; "cosine" anneals it to 0 (RESULTS.md: 84.0% on
    # planted proofs after 1,800 constant verifier steps and a 600-step cosine tail)
    last_schedule: str = CONSTANT

    def __post_init__(self) -> None:
        if self.sft_steps % self.chunk_steps:
            raise ValueError("toy_prover: sft_steps must be a multiple of chunk_steps")
        if self.sft_steps * self.batch > self.sft_rows:
            raise ValueError("toy_prover: sft_steps * batch is more than sft_rows")
        from verifier_train.v2.toyworld.analysis import META_FORMS, note_style

        note_style(self.fold_notes)  # a typo fails here, not after the draw
        if self.meta_form not in META_FORMS:
            raise ValueError(f"toy_prover: meta_form {self.meta_form!r} is not one of "
                             f"{', '.join(META_FORMS)}")  # fmt: skip
        if self.last_schedule not in SCHEDULES:
            raise ValueError(f"toy_prover: last_schedule {self.last_schedule!r} is not one of "
                             f"{', '.join(SCHEDULES)}")  # fmt: skip
        object.__setattr__(self, "families", tuple(self.families))

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"families": list(self.families)}


@dataclass(frozen=True)
class ToyMeasure:
    """Held-out figures of one toy prover (shares in [0, 1])."""

    verifier_accuracy: float
    verifier_by_kind: dict[str, float] = field(default_factory=dict)
    generator_validity: float = 0.0  # greedy proofs whose exact label is 1
    self_calibration: float = 0.0  # greedy self-scores equal to the exact label
    proofs: int = 0
    problems: int = 0


def sft_args(steps: int, batch: int, lr: float, seed: int, out: Path,
             schedule: str = CONSTANT) -> Any:  # fmt: skip
    """The `trl.SFTConfig` of one toy-prover SFT run: `steps` steps at `lr` after a short
    warm-up (constant, or any transformers `lr_scheduler_type`), on the CPU, saving nothing but
    the final model."""
    from verifier_train.sft import CPU_OVERRIDES, SFTRecipe, to_sft_config

    recipe = SFTRecipe(
        max_steps=steps,
        per_device_train_batch_size=batch,
        gradient_accumulation_steps=1,
        learning_rate=lr,
        lr_scheduler_type=schedule,
        warmup_steps=min(20, steps // 10),
        max_length=1024,
        seed=seed,
        **CPU_OVERRIDES,
    )
    quiet = {"save_strategy": "no", "disable_tqdm": True, "logging_steps": 10**6}
    return to_sft_config(recipe, out, **quiet)


def sft(model: Path, rows: Sequence[dict], steps: int, batch: int, lr: float, seed: int,
        out: Path, callbacks: Sequence = (), schedule: str = CONSTANT) -> Path:  # fmt: skip
    """TRL SFT from `model` on prompt/completion rows (loss on completions, EOS appended by
    TRL) for `steps` steps (`sft_args`, with `schedule`); saved to `out`."""
    from datasets import Dataset
    from transformers import AutoTokenizer, PrinterCallback, ProgressCallback
    from transformers.utils import SAFE_WEIGHTS_INDEX_NAME, SAFE_WEIGHTS_NAME
    from trl import SFTTrainer

    weights = (SAFE_WEIGHTS_NAME, SAFE_WEIGHTS_INDEX_NAME)  # whole or sharded
    if not any((model / name).is_file() for name in weights):  # a run folder kept in part
        raise InputError(f"{model} has no weights; delete that folder and run again to train it")
    trainer = SFTTrainer(
        model=str(model),
        args=sft_args(steps, batch, lr, seed, out.with_name(out.name + "-run"), schedule),
        train_dataset=Dataset.from_list(list(rows)),
        processing_class=AutoTokenizer.from_pretrained(str(model)),
        callbacks=list(callbacks),
    )
    for callback in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(callback)
    trainer.train()
    trainer.save_model(str(out))
    return out


@functools.lru_cache(maxsize=1)
def draws(recipe: ToyProverRecipe) -> tuple[list[dict], list[dict], list[dict]]:
    """(verification proofs, meta records, generation problems) the SFT rows are made of, split
    by the shares; drawn once per process (training and `heldout` both need them)."""
    from verifier_train.v2.toyworld import generator_problems
    from verifier_train.v2.toyworld.analysis import written
    from verifier_train.v2.toyworld.rows import World, meta_data, verifier_data

    world = World(recipe.families, recipe.max_chars)
    n = recipe.sft_rows
    with written(recipe.fold_notes, recipe.quote_first, recipe.meta_form):
        proofs = verifier_data(int(n * recipe.verification_share), recipe.seed, world)
        metas = meta_data(int(n * recipe.meta_share), recipe.seed, world)
    share = 1 - recipe.verification_share - recipe.meta_share
    problems = generator_problems(int(n * share), recipe.seed + 2, world.families, world.max_chars)
    return proofs, metas, problems


def sft_rows(recipe: ToyProverRecipe, templates: Any) -> list[dict]:
    """The shuffled joint SFT rows: `sft_rows` of them (`draws`), split by the shares."""
    from verifier_train.v2.toyworld.rows import generator_sft_rows, verifier_sft_rows

    proofs, metas, problems = draws(recipe)
    rows = verifier_sft_rows(proofs, metas, templates) + generator_sft_rows(problems, templates)
    random.Random(recipe.seed).shuffle(rows)
    return rows


def train_toy_prover(recipe: ToyProverRecipe, out: Path, log=print) -> Path:
    """Build, warm up and SFT the toy prover under `out/`; returns the final model folder
    (`out/final`). Finished stages are kept (with their seconds in `out/times.json`), so a
    re-run continues where it stopped."""
    import torch

    from prover.prompts import Templates
    from verifier_train.v2.toyworld.rows import vocabulary_words

    torch.set_num_threads(recipe.threads)
    templates, prev = Templates.load(), out / "copy"
    if not (prev / "config.json").is_file():
        start = time.perf_counter()
        sizes = (recipe.hidden, recipe.layers, recipe.copy_steps, recipe.batch)
        warm_up(out, vocabulary_words(templates), *sizes, recipe.learning_rate, recipe.seed)
        _timed(out, "copy", start, log)
    rows, size = sft_rows(recipe, templates), recipe.chunk_steps * recipe.batch
    for end in range(recipe.chunk_steps, recipe.sft_steps + 1, recipe.chunk_steps):
        path = out / f"sft-{end}"
        if not (path / "config.json").is_file():
            start = time.perf_counter()
            chunk = rows[(end - recipe.chunk_steps) * recipe.batch :][:size]
            lr, seed = recipe.learning_rate, recipe.seed + end
            schedule = recipe.last_schedule if end == recipe.sft_steps else CONSTANT
            sft(prev, chunk, recipe.chunk_steps, recipe.batch, lr, seed, path, (), schedule)
            _timed(out, path.name, start, log)
        prev = path
    final = out / "final"
    if not (final / "config.json").is_file():
        _copy_model(prev, final)
    return final


def warm_up(out: Path, words: Sequence[str], hidden: int, layers: int, steps: int, batch: int,
            lr: float, seed: int) -> Path:  # fmt: skip
    """A random char-level Llama built in `out/init` (tokenizer phrases `words`), then `steps`
    SFT steps of the copy warm-up (`rows.copy_rows`), saved in `out/copy`."""
    from verifier_train.v2.toyworld.charmodel import build_char_model
    from verifier_train.v2.toyworld.rows import copy_rows

    base = build_char_model(out / "init", words, hidden, layers, seed)
    return sft(base, copy_rows(COPY_ROWS, seed), steps, batch, lr, seed, out / "copy")


def _timed(out: Path, stage: str, start: float, log) -> None:
    """Record a stage finished now, begun at `start` (`time.perf_counter`)."""
    record(out, stage, time.perf_counter() - start, log)


def record(out: Path, stage: str, seconds: float, log) -> None:
    """Record a finished stage's seconds in `out/times.json` and say so."""
    from prover.rundir import write_json

    write_json(out / "times.json", training_times(out) | {stage: round(seconds, 1)})
    log(f"{out.name}: {stage} done in {seconds:.0f} s")


def training_times(out: Path) -> dict[str, float]:
    """Seconds of each finished stage of the toy prover trained in `out`."""
    path = out / "times.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _copy_model(src: Path, dst: Path) -> None:
    """Copy a saved model folder atomically (a temp folder renamed into place)."""
    import shutil

    tmp = dst.with_name(dst.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    tmp.rename(dst)


def heldout(recipe: ToyProverRecipe) -> tuple[list[dict], list[str]]:
    """(planted held-out proofs, held-out problems): drawn with the held-out seed from the
    recipe's world, minus every problem the SFT rows show (in any role: `draws`)."""
    from verifier_train.v2.toyworld import generator_problems
    from verifier_train.v2.toyworld.rows import World, unseen, verifier_data

    world = World(recipe.families, recipe.max_chars)
    seen = [row for rows in draws(recipe) for row in rows]
    proofs = verifier_data(10 * recipe.heldout_proofs, HELDOUT_SEED, world)
    proofs = unseen(proofs, seen)[: recipe.heldout_proofs]
    drawn = generator_problems(10 * recipe.heldout_problems, HELDOUT_SEED + 2, recipe.families,
                               recipe.max_chars)  # fmt: skip
    problems = list(dict.fromkeys(p["problem"] for p in unseen(drawn, seen)))
    return proofs, problems[: recipe.heldout_problems]


def measure(model: Path, recipe: ToyProverRecipe, max_tokens: int = 320) -> ToyMeasure:
    """Greedy held-out figures of the model at `model` (see `heldout`)."""
    from prover.backends.base import Sampling, user_chat
    from prover.backends.hf import HFBackend
    from prover.parse import parse_generation, parse_verdict
    from prover.prompts import Templates
    from verifier_train.v2.toyworld import check_proof

    templates, (proofs, problems) = Templates.load(), heldout(recipe)
    backend = HFBackend(str(model), device="cpu", batch_size=256)
    greedy = Sampling(temperature=0, max_tokens=max_tokens)
    prompts = [user_chat(templates.verification(r["problem"], r["proof"])) for r in proofs]
    outs = backend.generate(prompts, 1, greedy)
    right = [
        parse_verdict(o[0].text, o[0].finish_reason).score == float(r["score"])
        for o, r in zip(outs, proofs, strict=True)
    ]
    kinds = sorted({r["kind"] for r in proofs})
    by_kind = {
        k: _mean([ok for ok, r in zip(right, proofs, strict=True) if r["kind"] == k]) for k in kinds
    }
    outs = backend.generate([user_chat(templates.generation(p)) for p in problems], 1, greedy)
    texts = [o[0].text for o in outs]
    labels = [check_proof(p, t).score for p, t in zip(problems, texts, strict=True)]
    selves = [parse_generation(t).self_score for t in texts]
    return ToyMeasure(
        _mean(right),
        by_kind,
        _mean([x == 1.0 for x in labels]),
        _mean([s == x for s, x in zip(selves, labels, strict=True)]),
        len(proofs),
        len(problems),
    )


def _mean(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


CARD_RECIPE = "Recipe (JSON):"


def write_card(model: Path, recipe: ToyProverRecipe, found: ToyMeasure, seconds: float) -> Path:
    """MODEL_CARD.md in `model`: what the model is, its recipe, commit and held-out figures."""
    kinds = ", ".join(f"{k} {v:.1%}" for k, v in found.verifier_by_kind.items())
    text = f"""# toy: the toy-world prover

One tiny character-level Llama ({recipe.hidden} hidden, {recipe.layers} layers, about 1M
parameters) in every DeepSeekMath-V2 role: generator, verifier and meta-verifier. It proves
and checks toy-world statements (`verifier_train.v2.toyworld`: {", ".join(recipe.families)};
proofs of at most {recipe.max_chars} characters) written with the shipped prompt templates.
It knows nothing else. Trained on a CPU in {seconds / 60:.0f} minutes by
`prover iterate verifier_train/recipes/toy-prover.yaml` (`verifier_train.v2.toy_prover`):
a copy warm-up, then joint SFT on verification analyses that re-derive every step,
meta-verification and generation; no GRPO.

Commit: {_commit()}; seed {recipe.seed}; torch threads {recipe.threads}.

## Held-out figures (greedy; problems never seen in training)
- Verification: {found.verifier_accuracy:.1%} of {found.proofs} planted proofs scored right
  ({kinds}).
- Generation: {found.generator_validity:.1%} of {found.problems} problems proved correctly;
  its boxed self-score equals the exact label on {found.self_calibration:.1%}.

These are far below the bars of the V2 learning check (90% verification accuracy, 80% per
class): this is the best model reached so far, shipped so that `prover solve --model toy`
runs offline in seconds, not a solved task. Read its verdicts accordingly: a "passed" proof
is one this weak verifier passed, not a correct one. It was not trained on refinement prompts
(the refinement template's fixed text is not in its vocabulary and overflows its 1,024
positions), so run `prover solve --model toy` with `-R 0`.

{CARD_RECIPE}

```json
{json.dumps(recipe.to_json(), indent=2)}
```
"""
    path = model / "MODEL_CARD.md"
    path.write_text(text)
    return path


def finish_card(final: Path, recipe: ToyProverRecipe, log=print) -> Path:
    """MODEL_CARD.md of the trained toy prover at `final` (measured first), unless written."""
    card = final / "MODEL_CARD.md"
    if not card.is_file():
        log("toy prover: measuring on held-out problems")
        seconds = sum(training_times(final.parent).values())
        write_card(final, recipe, measure(final, recipe), seconds)
    return card


def card_recipe(card: Path) -> ToyProverRecipe:
    """The recipe recorded in a MODEL_CARD.md written by `write_card`."""
    text = card.read_text().split(CARD_RECIPE, 1)[1]
    block = text.split("```json", 1)[1].split("```", 1)[0]
    return ToyProverRecipe(**json.loads(block))


def _commit() -> str:
    """The repository's HEAD commit, or "unknown" outside a git checkout."""
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent,
        check=False,
    )
    return done.stdout.strip() or "unknown"
