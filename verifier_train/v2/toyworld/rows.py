"""The toy world's records turned into SFT rows for one model in every role (verification,
meta-verification, generation), rendered with given prompt templates, and the fixed phrases
that the tiny character-level model (`charmodel`) reads as single tokens.

Every label comes from `verifier_train.v2.toyworld` (exact). The prompts are the project's own:
`prover.prompts.Templates` renders them and `verifier_train.grpo.trl_prompt` wraps them in the
DeepSeekMath chat text (`User: ...\\n\\nAssistant:`), exactly as TRL's GRPO and the `hf` backend
see them. This module does not train or sample anything.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prover.backends.base import deepseek_math_chat, user_chat
from prover.prompts import (
    EVAL_CLOSING,
    EVAL_OPENING,
    META_CLOSING,
    META_OPENING,
    SELF_EVAL_HEADER,
    SOLUTION_HEADER,
    Templates,
)
from verifier_train.v2.toyworld import (
    judge_hacking_probes,
    labelled_proofs,
    meta_records,
    parse_problem,
    reference_analysis,
)
from verifier_train.v2.toyworld.analysis import computed_analysis
from verifier_train.v2.toyworld.check import NO_VALID_STEP
from verifier_train.v2.toyworld.data import (
    ALL_VALID,
    DEFAULT_MIX,
    junk_records,
    score_text,
    written_meta_records,
)

# A meta-verifier's answer has no reference text in the toy world: one sentence per variant.
META_BODY = {
    "faithful": "The issues are real and the score is right.",
    "wrong_score": "The issues are real but the score is wrong.",
    "invented": "An issue it names is not real.",
    "missed": "It misses a real issue.",
}
# The worked form's finding, by meta score (`toyworld.data.meta_work`).
WORKED_BODY = {
    1.0: META_BODY["faithful"],
    0.5: META_BODY["wrong_score"],
    0.0: META_BODY["invented"],
}
# Fixed phrases of the analyses (`toyworld.check` reasons, the format phrases) and problems.
PHRASES = (
    EVAL_OPENING,
    EVAL_CLOSING,
    META_OPENING,
    META_CLOSING,
    SOLUTION_HEADER,
    SELF_EVAL_HEADER,
    ALL_VALID,
    NO_VALID_STEP,
    *META_BODY.values(),
    "\\boxed{",
    "Step ",
    "Hence ",
    " ok",
    " skip",
    " false",
    "Claim: ",
    "End: ",
    " is false: ",
    " is false.",
    " is not ",
    " does not follow from ",
    " skips a step: ",
    " is not a single rewrite.",
    "it starts from ",
    ", not from ",
    ", but ",
    "The final claim ",
    " is not the claim to prove.",
    "The conclusion ",
    "the steps end at ",
    ", not at ",
    "Show that ",
    "Prove that if ",
    "Prove that ",
    " then ",
)


@dataclass(frozen=True)
class World:
    """Which part of the toy world the check uses."""

    families: tuple[str, ...] = ("arith", "linear")
    max_chars: int = 160  # of a correct proof, so the texts stay short


def chat(text: str) -> str:
    """The prompt text for a tokenizer without a chat template (what `trl_prompt` and the
    `hf` backend build): `User: {text}\\n\\nAssistant:`."""
    return deepseek_math_chat(user_chat(text))


def template_words(templates: Templates) -> list[str]:
    """The fixed pieces of every rendered chat prompt (the text between the fields), so each
    is one token: a prompt then costs a few positions plus its problem and proof."""
    marks = {"problem": "\x00", "proof": "\x01", "analysis": "\x02"}
    rendered = [
        chat(templates.generation(marks["problem"])),
        chat(templates.verification(marks["problem"], marks["proof"])),
        chat(templates.meta(marks["problem"], marks["proof"], marks["analysis"])),
    ]
    words: list[str] = []
    for text in rendered:
        for mark in marks.values():
            text = text.replace(mark, "\x00")
        words += [w for w in text.split("\x00") if w]
    return list(dict.fromkeys(words))


def vocabulary_words(templates: Templates) -> list[str]:
    return list(dict.fromkeys([*template_words(templates), *PHRASES]))


# --- Records --------------------------------------------------------------------------------


# Training verification proofs: the held-out kinds plus the "slips" drill (`proofs`), which
# makes most lines differ from their step's result, so copying the proof is no shortcut, and
# a few non-proofs (`data.junk_text`: cut-off steps, another problem's proof, prose).
TRAIN_MIX = {
    "correct": 0.3,
    "wrong_step": 0.15,
    "skipped_step": 0.15,
    "false_final": 0.1,
    "slips": 0.25,
    "junk": 0.05,
}


# Skipped steps are the class a verifier trained on TRAIN_MIX misses most (it writes the step's
# expected line where the proof's line belongs, so it finds no difference), and a generator's
# proofs almost never skip a step (10 of 7,999 are label 0.5). This mix has more of them, at
# the cost of the other kinds and the slips drill (RESULTS.md: skipped steps 73.2% -> 92.7%).
SKIP_MIX = {
    "correct": 0.25,
    "wrong_step": 0.1,
    "skipped_step": 0.35,
    "false_final": 0.1,
    "slips": 0.15,
    "junk": 0.05,
}
# A verifier trained on the mixes above still passes some of the generator's wrong proofs by
# copying the line it expected where the proof's line belongs: the generator's slips are
# typos anywhere in a line, the planted ones are values off by 1 or 2 where the step computed.
# This mix moves most of SKIP_MIX's slips drill and a little of its skipped steps to the
# "typos" drill (`proofs`), whose slips are the generator's kind.
TYPO_MIX = {
    "correct": 0.25,
    "wrong_step": 0.1,
    "skipped_step": 0.3,
    "false_final": 0.1,
    "slips": 0.05,
    "typos": 0.15,
    "junk": 0.05,
}
# Even so, the seven-stage recipe verifier passes 24% of planted proofs with one typo and
# every other line right (`v2_false_passes.py --planted-typos`), and 7% of the wrong proofs
# the verifier-rewarded policy writes in the learning check's GRPO. This mix moves most of
# TYPO_MIX's typos, and a little of its skipped steps, to the "one_typo" drill.
ONE_TYPO_MIX = {
    "correct": 0.25,
    "wrong_step": 0.1,
    "skipped_step": 0.25,
    "false_final": 0.1,
    "slips": 0.05,
    "typos": 0.05,
    "one_typo": 0.15,
    "junk": 0.05,
}
# Planted-proof mixes by name (recipes name them): "default" is `data.DEFAULT_MIX`, the
# held-out kinds alone.
MIXES: dict[str, dict[str, float] | None] = {
    "default": None,
    "train": TRAIN_MIX,
    "skip": SKIP_MIX,
    "typos": TYPO_MIX,
    "one_typo": ONE_TYPO_MIX,
}
# The short prompt templates of the V2 learning check and the toy verifier: the shipped ones
# (`prover/prompts/templates`) are written for real models and are several times longer.
TOY_TEMPLATES = Path(__file__).with_name("templates")


def toy_templates() -> Templates:
    """The toy world's short prompt templates (`TOY_TEMPLATES`)."""
    return Templates.load(TOY_TEMPLATES)


def verifier_data(
    n: int, seed: int, world: World, mix: dict[str, float] | None = None
) -> list[dict[str, Any]]:
    """{problem, proof, score, kind, analysis} rows: the toy world's labelled proofs in the
    proportions of `mix` (default `data.DEFAULT_MIX`: 40% correct, 20% each corruption, what
    held-out sets use) with their reference analyses."""
    mix = dict(mix or DEFAULT_MIX)
    share = mix.pop("junk", 0.0)
    junk = round(n * share / (share + sum(mix.values())))
    rows = [
        {
            "problem": p.problem.text,
            "proof": p.text,
            "score": p.score,
            "kind": p.kind,
            "analysis": reference_analysis(p),
        }
        for p in labelled_proofs(n - junk, seed, mix, world.families, world.max_chars)
    ]
    if junk:
        for r in junk_records(junk, seed + 1, world.families, world.max_chars):
            rows.append(r | {"analysis": computed_analysis(r["problem"], r["proof"])})
        random.Random(seed).shuffle(rows)
    return rows


def meta_data(n: int, seed: int, world: World) -> list[dict[str, Any]]:
    """n meta-verification rows of the world's families, each with its reference answer."""
    rows = meta_records(n, seed, world.max_chars, world.families)
    return [row | {"answer": meta_answer(row)} for row in rows]


def written_meta_data(rows: Sequence[dict], seed: int) -> list[dict[str, Any]]:
    """Meta-verification rows of given generator-written proofs, each with its reference
    answer (`toyworld.data.written_meta_records`)."""
    return [row | {"answer": meta_answer(row)} for row in written_meta_records(rows, seed)]


def meta_answer(row: dict[str, Any]) -> str:
    """The meta-verifier's reference answer to one meta record."""
    score = score_text(float(row["meta_score"]))
    if "work" in row:  # the worked form: the re-derived line, the score check, the finding
        body = "\n".join([*row["work"], WORKED_BODY[float(row["meta_score"])]])
    else:
        body = META_BODY[row["variant"]]
    return f"{META_OPENING}\n{body}\n\n{META_CLOSING} \\boxed{{{score}}}"


def toy_probes(world: World) -> list[tuple[str, str]]:
    """(problem, proof) judge-hacking probes of the world's families (true score 0)."""
    return [
        (p["problem"], p["proof"])
        for p in judge_hacking_probes(0)
        if parse_problem(p["problem"]).family in world.families
    ]


def unseen(rows: list[dict], seen: Sequence[dict]) -> list[dict]:
    """The rows whose problem is not among the problems of `seen` (held-out sets)."""
    problems = {r["problem"] for r in seen}
    return [r for r in rows if r["problem"] not in problems]


# --- SFT rows -------------------------------------------------------------------------------


def verifier_sft_rows(rows: Sequence[dict], metas: Sequence[dict], templates: Templates):
    """Prompt/completion rows: verification (-> reference analysis) and meta-verification
    (-> the meta answer), one model for both tasks as in the paper."""
    out = [
        {"prompt": chat(templates.verification(r["problem"], r["proof"])),
         "completion": r["analysis"]}
        for r in rows
    ]  # fmt: skip
    out += [
        {"prompt": chat(templates.meta(m["problem"], m["proof"], m["analysis"])),
         "completion": m["answer"]}
        for m in metas
    ]  # fmt: skip
    return out


def generator_sft_rows(problems: Sequence[dict], templates: Templates) -> list[dict]:
    """Prompt/completion rows: the problem -> its canonical generation (solution and self
    evaluation), from `toyworld.generator_problems`."""
    return [
        {"prompt": chat(templates.generation(p["problem"])), "completion": p["proof"]}
        for p in problems
    ]


# --- Copy warm-up ---------------------------------------------------------------------------

COPY_ALPHABET = "0123456789+-*"


def copy_rows(n: int, seed: int, lengths: tuple[int, int] = (25, 25)) -> list[dict]:
    """Prompt/completion rows that ask to repeat a random string of the toy alphabet. A tiny
    model trained from scratch on toy texts settles on their syntax statistics and learns to
    look back at the problem only very slowly; random strings can only be predicted by
    copying, so a short warm-up on them gives it that skill first."""
    import random

    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        text = "".join(rng.choice(COPY_ALPHABET) for _ in range(rng.randint(*lengths)))
        rows.append({"prompt": chat(text), "completion": text})
    return rows
