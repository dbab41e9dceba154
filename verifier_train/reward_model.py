"""DeepSeekMath reward models: an outcome RM (ORM) and a process RM (PRM), trained on the
policy's base, and their use as GRPO reward functions.

Both read the text the policy sees: the prompt rendered as in the GRPO stage (a question
becomes `build_prompt(item, "cot")`, a chat goes through the tokenizer's chat template, see
`verifier_train.math_shepherd.render_prompt`), then the completion as generated.

- ORM: `AutoModelForSequenceClassification(num_labels=1)`, the scalar read at the last
  non-padding token, trained on graded samples `{question | prompt, completion, label}` as a
  classifier of correctness (Math-Shepherd; DeepSeekMath sec. 4.2) with a pointwise binary
  cross-entropy. TRL 1.16's `RewardTrainer` only trains pairwise (chosen/rejected,
  -logsigmoid(r_c - r_r)), so this is the stock `transformers.Trainer`: with
  `problem_type="multi_label_classification"` and one label, transformers' own loss is
  exactly BCE-with-logits on the scalar, and no compute_loss override is needed. Reward:
  sigmoid(score) = P(correct).
- PRM: `AutoModelForTokenClassification(num_labels=2)` on Math-Shepherd data `{prompt |
  question, completions: [steps], labels: [bool]}`. TRL 1.16 ships no `PRMTrainer` (TRL 0.x
  had one, experimental), so this is its minimal equivalent on `transformers.Trainer`:
  cross-entropy on one token per step, every other label -100. The STEP SEPARATOR is a line
  break: steps are written one per line after the prompt (`math_shepherd.assistant_text`), and
  a step's label sits on the token holding its last character (found through the fast
  tokenizer's offsets), so the PRM reads the same positions in any completion split by
  `math_shepherd.step_spans`. Reward per step: P(correct) = softmax(logits)[1].

Too long: an ORM sample longer than `max_length` tokens is skipped (cutting it would cut the
final answer its label is about); a PRM sample keeps the steps whose label token fits and is
truncated there (a step's label depends only on its prefix); with no step inside, it is
skipped. Both are counted. At reward time the same rule gives None (ORM) or fewer steps (PRM).

`train_reward_model(RewardModelRun)` is the `prover train reward-model` stage in one call:
the recipe, the examples, the trainer, a resumable run and the saved model.

This module does NOT: parse data files (`verifier_train.reward_data`), generate or label data
(`verifier_train.math_shepherd`), train pairwise, apply LoRA, launch processes (use
accelerate/torchrun), or parse command lines.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from prover.backends.base import Prompt
from prover.errors import InputError
from verifier_train.grpo import RewardFunc, process_reward
from verifier_train.math_shepherd import assistant_text, render_prompt, step_spans
from verifier_train.reward_data import KINDS, OutcomeExample, ProcessExample
from verifier_train.rewards import completion_text
from verifier_train.trainer_io import Log, StageRun, Trained, load_stage, train_and_save, trained

IGNORE = -100  # label of tokens that carry no step label (the loss skips them)


@dataclass(frozen=True)
class RewardModelRecipe:
    """Reward-model training on the policy's base. DeepSeekMath sec. 4.2 gives the lr (2e-5,
    from DeepSeekMath-Base 7B); the batch, schedule, epochs and length are choices."""

    learning_rate: float = 2e-5
    per_device_train_batch_size: int = 4
    gradient_accumulation_steps: int = 64  # 256 on one process; divide by the process count
    num_train_epochs: float = 1.0
    max_steps: int = -1
    lr_scheduler_type: str = "constant"
    warmup_steps: int = 0
    weight_decay: float = 0.0
    max_length: int = 4096
    logging_steps: int = 10
    save_steps: int = 200
    seed: int = 0
    use_cpu: bool = False
    bf16: bool = True
    activation_checkpointing: bool = True
    report_to: tuple[str, ...] = ()


# --- Tokens ---------------------------------------------------------------------------------


def encode_text(tokenizer: Any, text: str) -> tuple[list[int], list[tuple[int, int]]]:
    """Token ids (with the tokenizer's own BOS) and character offsets of `text`."""
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("reward models need a fast tokenizer (character offsets)")
    enc = tokenizer(text, add_special_tokens=True, return_offsets_mapping=True)
    return enc["input_ids"], [tuple(o) for o in enc["offset_mapping"]]


def tokens_at_chars(offsets: Sequence[tuple[int, int]], chars: Sequence[int]) -> list[int]:
    """Index of the token covering each character position (special tokens, with empty
    spans, are never chosen)."""
    spans = [(start, i) for i, (start, end) in enumerate(offsets) if end > start]
    starts = [start for start, _ in spans]
    return [spans[max(bisect_right(starts, c) - 1, 0)][1] for c in chars]


def step_positions(
    tokenizer: Any, prompt_text: str, completion: str, max_length: int
) -> tuple[list[int], list[tuple[int, int]]]:
    """(ids of prompt + completion cut to `max_length`, [(step end char in the completion,
    index of its label token)] for the steps whose label token fits)."""
    ids, offsets = encode_text(tokenizer, prompt_text + completion)
    spans = step_spans(completion)
    where = tokens_at_chars(offsets, [len(prompt_text) + end - 1 for _, end in spans])
    kept = [(end, i) for (_, end), i in zip(spans, where, strict=True) if i < max_length]
    return ids[:max_length], kept


@dataclass(frozen=True)
class EncodeStats:
    """How many examples were kept, skipped for length, or truncated (PRM only)."""

    kept: int
    too_long: int
    truncated: int = 0


def encode_outcome(tokenizer: Any, ex: OutcomeExample, max_length: int) -> dict | None:
    """{input_ids, labels: [0./1.]}, or None when longer than `max_length`."""
    ids, _ = encode_text(tokenizer, render_prompt(tokenizer, ex.prompt) + ex.completion)
    return None if len(ids) > max_length else {"input_ids": ids, "labels": [float(ex.label)]}


def encode_process(tokenizer: Any, ex: ProcessExample, max_length: int) -> dict | None:
    """{input_ids, labels: -100 except 0/1 on each step's last token}, cut after the last
    step that fits; None when no step fits."""
    prompt_text = render_prompt(tokenizer, ex.prompt)
    ids, kept = step_positions(tokenizer, prompt_text, assistant_text(ex.steps), max_length)
    if not kept:
        return None
    labels = [IGNORE] * len(ids)
    for (_, index), label in zip(kept, ex.labels, strict=False):
        labels[index] = int(label)
    end = kept[-1][1] + 1
    return {"input_ids": ids[:end], "labels": labels[:end], "steps": len(kept)}


def encode_examples(
    kind: str, tokenizer: Any, examples: Sequence, max_length: int
) -> tuple[list[dict], EncodeStats]:
    """Training rows for `kind`, skipping (and counting) what does not fit."""
    encode = encode_outcome if kind == "outcome" else encode_process
    rows, truncated = [], 0
    for ex in examples:
        row = encode(tokenizer, ex, max_length)
        if row is not None:
            kept_steps = row.pop("steps", None)
            truncated += kept_steps is not None and kept_steps < len(ex.steps)
            rows.append(row)
    return rows, EncodeStats(len(rows), len(examples) - len(rows), truncated)


# --- Training -------------------------------------------------------------------------------


def to_training_args(recipe: RewardModelRecipe, output_dir: Path | str, **overrides: Any):
    """`transformers.TrainingArguments` for `recipe` (all fields but `max_length`)."""
    from transformers import TrainingArguments

    from verifier_train.train_args import build_args

    fields = asdict(recipe)
    fields.pop("max_length")
    fields["report_to"] = list(recipe.report_to) or "none"
    return build_args(TrainingArguments, output_dir, {**fields, **overrides})


def load_tokenizer(path: Path | str):
    """The tokenizer, with a pad token (EOS when it has none): padding is how the ORM finds
    the last real token."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(path))
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(kind: str, path: Path | str, tokenizer: Any, dtype: str = "float32"):
    """The reward model of `kind` at `path`: a new head on a causal LM's base, or a trained
    reward model. Training loads float32 (the optimizer's master copy; `bf16` autocasts)."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

    if kind == "outcome":
        model = AutoModelForSequenceClassification.from_pretrained(
            str(path), num_labels=1, problem_type="multi_label_classification",
            id2label={0: "correct"}, dtype=getattr(torch, dtype),
        )  # fmt: skip
    elif kind == "process":
        model = AutoModelForTokenClassification.from_pretrained(
            str(path), num_labels=2, id2label={0: "incorrect", 1: "correct"},
            dtype=getattr(torch, dtype),
        )  # fmt: skip
    else:
        raise ValueError(f"unknown reward model kind {kind!r}; choose one of {KINDS}")
    model.config.pad_token_id = tokenizer.pad_token_id
    return model


def build_trainer(
    kind: str,
    model_path: Path | str,
    examples: Sequence,
    recipe: RewardModelRecipe | None = None,
    output_dir: Path | str = "rm-out",
    **overrides: Any,
):
    """(a `transformers.Trainer` for a reward model of `kind` on `examples`, EncodeStats);
    `overrides` go to TrainingArguments. Raises InputError when no example fits."""
    from datasets import Dataset
    from transformers import DataCollatorForTokenClassification, DataCollatorWithPadding, Trainer

    from verifier_train.train_metrics import MetricsJSONL

    recipe = recipe or RewardModelRecipe()
    tokenizer = load_tokenizer(model_path)
    rows, stats = encode_examples(kind, tokenizer, examples, recipe.max_length)
    if not rows:
        raise InputError(f"no {kind} example fits max_length {recipe.max_length}")
    collator = (DataCollatorWithPadding if kind == "outcome" else
                DataCollatorForTokenClassification)(tokenizer)  # fmt: skip
    trainer = Trainer(
        model=load_model(kind, model_path, tokenizer),
        args=to_training_args(recipe, output_dir, **overrides),
        train_dataset=Dataset.from_list(rows),
        data_collator=collator,
        processing_class=tokenizer,
        callbacks=[MetricsJSONL(output_dir)],
    )
    return trainer, stats


# --- Scoring and GRPO reward functions ------------------------------------------------------


def load_reward_model(path: Path | str, kind: str, device: str = "auto", dtype: str = "auto"):
    """(a trained reward model of `kind` in eval mode on `device`, its tokenizer); dtype
    "auto" is bfloat16 on a GPU and float32 on the CPU."""
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if dtype == "auto":
        dtype = "bfloat16" if device.startswith("cuda") else "float32"
    tokenizer = load_tokenizer(path)
    return load_model(kind, path, tokenizer, dtype).to(device).eval(), tokenizer


def _logits(model: Any, batch: Sequence[list[int]], pad_id: int):
    """The model's logits for right-padded `batch`: (B, 1) for the ORM, (B, T, 2) for the PRM."""
    import torch

    width = max(len(ids) for ids in batch)
    ids = torch.tensor([ids + [pad_id] * (width - len(ids)) for ids in batch])
    mask = torch.tensor([[1] * len(x) + [0] * (width - len(x)) for x in batch])
    with torch.inference_mode():
        out = model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device))
    return out.logits.float().cpu()


def outcome_scores(
    model: Any, tokenizer: Any, texts: Sequence[str], max_length: int = 4096, batch_size: int = 8
) -> list[float | None]:
    """P(correct) = sigmoid(score) per full text; None when longer than `max_length`."""
    ids = [encode_text(tokenizer, text)[0] for text in texts]
    fits = [i for i, x in enumerate(ids) if len(x) <= max_length]
    scores: list[float | None] = [None] * len(texts)
    for k in range(0, len(fits), batch_size):
        chunk = fits[k : k + batch_size]
        probs = _logits(model, [ids[i] for i in chunk], tokenizer.pad_token_id).sigmoid()[:, 0]
        for i, p in zip(chunk, probs.tolist(), strict=True):
            scores[i] = p
    return scores


def process_scores(
    model: Any,
    tokenizer: Any,
    prompt_texts: Sequence[str],
    completions: Sequence[str],
    max_length: int = 4096,
    batch_size: int = 8,
) -> list[list[tuple[int, float]]]:
    """Per completion, [(step end character in the completion, P(step correct))] for the
    steps whose label token fits in `max_length`."""
    placed = [step_positions(tokenizer, p, c, max_length)
              for p, c in zip(prompt_texts, completions, strict=True)]  # fmt: skip
    scores: list[list[tuple[int, float]]] = [[] for _ in placed]
    todo = [i for i, (_, kept) in enumerate(placed) if kept]
    for k in range(0, len(todo), batch_size):
        chunk = todo[k : k + batch_size]
        logits = _logits(model, [placed[i][0] for i in chunk], tokenizer.pad_token_id)
        probs = logits.softmax(-1)[..., 1]  # (B, T): P(correct) at every token
        for row, i in enumerate(chunk):
            scores[i] = [(end, probs[row, t].item()) for end, t in placed[i][1]]
    return scores


def token_index_of_char(tokenizer: Any, ids: Sequence[int], char_end: int) -> int:
    """The first token of `ids` whose decoded prefix reaches `char_end` characters (binary
    search over decoded prefixes; the text TRL scores is `decode(ids, skip_special_tokens)`)."""
    lo, hi = 0, max(len(ids) - 1, 0)
    while lo < hi:
        mid = (lo + hi) // 2
        if len(tokenizer.decode(list(ids[: mid + 1]), skip_special_tokens=True)) >= char_end:
            hi = mid
        else:
            lo = mid + 1
    return lo


def orm_reward_function(
    model_path: Path | str,
    device: str = "auto",
    max_length: int = 4096,
    batch_size: int = 8,
    dtype: str = "auto",
) -> RewardFunc:
    """A TRL reward function `f(prompts, completions, **_)`: the trained ORM's P(correct) per
    completion; None for an empty completion or one past `max_length`."""
    model, tokenizer = load_reward_model(model_path, "outcome", device, dtype)

    def orm_reward(prompts: Sequence[Prompt], completions: Sequence, **_: Any):
        texts = [completion_text(c) for c in completions]
        live = [i for i, t in enumerate(texts) if t.strip()]
        full = [render_prompt(tokenizer, prompts[i]) + texts[i] for i in live]
        rewards: list[float | None] = [None] * len(texts)
        for i, score in zip(live, outcome_scores(model, tokenizer, full, max_length,
                                                 batch_size), strict=True):  # fmt: skip
            rewards[i] = score
        return rewards

    return orm_reward


def prm_reward_function(
    model_path: Path | str,
    tokenizer_path: Path | str | None = None,
    device: str = "auto",
    max_length: int = 4096,
    batch_size: int = 8,
    dtype: str = "auto",
) -> RewardFunc:
    """A TRL process reward function (`@process_reward`): per completion, the PRM's
    P(step correct) for each step (non-empty line) as `(end_token_index, reward)`, the index
    into the completion's tokens (`completion_ids` from TRL, decoded by the policy tokenizer
    at `tokenizer_path`, default the PRM's); None for a completion with no step."""
    model, tokenizer = load_reward_model(model_path, "process", device, dtype)
    policy_tokenizer = load_tokenizer(tokenizer_path) if tokenizer_path else tokenizer

    @process_reward
    def prm_reward(prompts: Sequence[Prompt], completions: Sequence, completion_ids=None, **_):
        texts = [completion_text(c) for c in completions]
        if completion_ids is None:
            completion_ids = [policy_tokenizer(t, add_special_tokens=False)["input_ids"]
                              for t in texts]  # fmt: skip
        prompt_texts = [render_prompt(tokenizer, p) for p in prompts]
        scored = process_scores(model, tokenizer, prompt_texts, texts, max_length, batch_size)
        return [
            [(token_index_of_char(policy_tokenizer, ids, end), r) for end, r in steps] or None
            for ids, steps in zip(completion_ids, scored, strict=True)
        ]

    return prm_reward


# --- The `prover train reward-model` stage --------------------------------------------------

ARTICLE = {"outcome": "an", "process": "a"}


@dataclass(frozen=True)
class RewardModelRun:
    """What `prover train reward-model` is asked: the run, the kind (outcome or process) and
    the data files."""

    run: StageRun
    kind: str
    files: tuple[Path, ...]


def train_reward_model(config: RewardModelRun, log: Log = print) -> Trained:
    """An outcome (ORM) or process (PRM) reward model on the run's model's base, trained on
    the examples of `config.files` into `out/final`, resuming from the last checkpoint; bad
    records and samples that do not fit are logged."""
    from verifier_train.reward_data import load_examples

    kind = config.kind
    stage, policy = load_stage(config.run, "reward_model", RewardModelRecipe)
    examples, rejected = load_examples(kind, config.files)
    for reason in rejected:
        log(f"skipped {reason}")
    if not examples:
        raise InputError(f"no usable {kind} reward-model records ({len(rejected)} skipped)")
    out = config.run.out
    trainer, stats = build_trainer(kind, policy, examples, stage, out, **config.run.overrides())
    if stats.too_long or stats.truncated:
        log(f"{stats.too_long} samples longer than max_length {stage.max_length} skipped, "
            f"{stats.truncated} cut after their last step that fits")  # fmt: skip
    final = train_and_save(trainer, out)
    summary = (f"trained {ARTICLE[kind]} {kind} reward model from {policy} on {stats.kept} "
               f"samples ({len(rejected)} bad records skipped); model in {final}")  # fmt: skip
    return trained(trainer, final, summary)
