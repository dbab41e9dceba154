"""Prompt builders of the DeepSeekMath setups and the program-of-thought code path."""

from __future__ import annotations

import pytest

from prover.evaluation.data import Item
from prover.evaluation.tasks import (
    COT_INSTRUCTION,
    GSM8K_EXEMPLARS,
    MATH_EXEMPLARS,
    build_prompt,
    code_blocks,
    program_of,
    stop_words,
    with_output,
)

WORD = Item("w", "Tom has 3 apples and buys 4. How many?", "7", source="gsm8k")
MATH = Item("m", "Compute $1+1$.", "2", "Algebra", "Level 1", source="math")


def test_zero_shot_cot_is_a_chat_with_the_deepseek_suffix():
    prompt = build_prompt(WORD, "cot")
    assert prompt == [{"role": "user", "content": f"{WORD.question}\n{COT_INSTRUCTION}"}]
    assert prompt[0]["content"].endswith(
        "\nPlease reason step by step, and put your final answer within \\boxed{}."
    )
    assert stop_words("cot") == ()


def test_fewshot_is_raw_text_in_the_style_of_the_data():
    word, math = build_prompt(WORD, "fewshot"), build_prompt(MATH, "fewshot")
    assert word.startswith(GSM8K_EXEMPLARS) and word.endswith(f"\n\n\nQ: {WORD.question}\nA:")
    assert word.count("The answer is") == 4
    assert math.startswith(MATH_EXEMPLARS)
    assert math.endswith("Problem:\nCompute $1+1$.\n\nSolution:")
    assert math.count("I hope it is correct.") == 4
    assert build_prompt(Item("c", "q", "1", source="champ"), "fewshot").startswith("Problem:")
    assert "\nQ:" in stop_words("fewshot") and "\nProblem:" in stop_words("fewshot")


def test_pot_prompt_and_stop():
    prompt = build_prompt(MATH, "pot")
    assert "integrate natural language reasoning with programs" in prompt[0]["content"]
    assert stop_words("pot") == ("```output",)
    with pytest.raises(ValueError, match="unknown task"):
        build_prompt(MATH, "nope")


def test_program_of_takes_the_last_block_with_earlier_definitions():
    text = (
        "First:\n```python\nx = 6\nprint(x)\ndef f(y):\n    print(y)\n    return y * 7\n```\n"
        "```output\n6\n```\nThen:\n```python\nprint(f(x))\n```\n"
    )
    # a model-invented output block after the first one is cut: runs block 1 only
    assert program_of(text) == "x = 6\nprint(x)\ndef f(y):\n    print(y)\n    return y * 7"
    two = "```python\nx = 6\nprint(x)\n```\nNow:\n```python\nprint(x * 7)\n```"
    assert program_of(two) == "x = 6\nprint(x * 7)"
    assert code_blocks(two) == ["x = 6\nprint(x)", "print(x * 7)"]


@pytest.mark.parametrize(
    "text",
    [
        "no code at all, \\boxed{3}",
        "```python\nprint(1)\n```\nSo the answer is \\boxed{1}.",  # already answered
        "```python\nprint(1)",  # unclosed (truncated)
        "```python\n\n```",  # empty
    ],
)
def test_nothing_to_run(text):
    assert program_of(text) is None


def test_output_block():
    assert with_output("```python\nprint(42)\n```\n", "42") == (
        "```python\nprint(42)\n```\n```output\n42\n```\n"
    )
