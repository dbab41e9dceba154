"""Prompts of the DeepSeekMath answer-benchmark setups, and the program-of-thought code path.

- `cot`: zero-shot chain of thought for instruct/RL models, a one-turn chat: the question, then
  "Please reason step by step, and put your final answer within \\boxed{}.";
- `fewshot`: few-shot chain of thought for base models, a raw text prompt: four fixed exemplars
  in the DeepSeekMath style (GSM8K-style `Q:`/`A: ... The answer is N.` for word problems,
  Minerva-style `Problem:`/`Solution:` with "Final Answer: The final answer is $X$. I hope it is
  correct." for MATH and CHAMP), cut at the next exemplar header by stop strings;
- `pot`: tool-integrated reasoning, a one-turn chat asking to "integrate natural language
  reasoning with programs". Generation stops at "```output"; the last ```python block (after
  the code of the earlier blocks, less their print lines, as in the DeepSeekMath harness) is
  run in `prover.sandbox` and its output (truncated there as in the harness) is appended as an
  "```output" block. That output is the program-output answer. There is ONE execution round:
  the model is not asked to continue after seeing the output.

This module does not run models, execute code (see `prover.sandbox`) or grade answers.
"""

from __future__ import annotations

from prover.backends.base import Prompt, user_chat
from prover.evaluation.data import Item

TASKS = ("cot", "fewshot", "pot")
COT_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
POT_INSTRUCTION = (
    "Please integrate natural language reasoning with programs to solve the problem above, "
    "and put your final answer within \\boxed{}."
)
CODE_FENCE = "```python"
OUTPUT_FENCE = "```output"

GSM8K_EXEMPLARS = """\
Q: A baker made 24 muffins in the morning and 18 in the afternoon. She sold 30 of them. How many \
muffins does she have left?
A: The baker made 24 + 18 = 42 muffins. After selling 30, she has 42 - 30 = 12 muffins left. \
The answer is 12.


Q: Tom reads 15 pages every day. How many pages does he read in two weeks?
A: Two weeks have 2 * 7 = 14 days. Tom reads 15 pages each day, so he reads 15 * 14 = 210 \
pages. The answer is 210.


Q: A box holds 6 pencils. A teacher needs 50 pencils for her class. How many boxes must she buy?
A: 8 boxes hold 8 * 6 = 48 pencils, which is 2 too few, and 9 boxes hold 9 * 6 = 54 pencils. \
So she must buy 9 boxes. The answer is 9.


Q: Maria had $40. She spent a quarter of it on lunch and $7 on a book. How much money does she \
have now?
A: A quarter of 40 dollars is 40 / 4 = 10 dollars. She spent 10 + 7 = 17 dollars in total, so \
she has 40 - 17 = 23 dollars left. The answer is 23."""

MATH_EXEMPLARS = r"""Problem:
What is the sum of all positive divisors of $12$?

Solution:
The positive divisors of $12$ are $1, 2, 3, 4, 6$ and $12$. Their sum is
$1+2+3+4+6+12=\boxed{28}$.
Final Answer: The final answer is $28$. I hope it is correct.

Problem:
Solve for $x$: $3x-7=11$.

Solution:
Adding $7$ to both sides gives $3x=18$, and dividing by $3$ gives $x=\boxed{6}$.
Final Answer: The final answer is $6$. I hope it is correct.

Problem:
Find the distance between the points $(1,2)$ and $(4,6)$.

Solution:
The distance is $\sqrt{(4-1)^2+(6-2)^2}=\sqrt{9+16}=\sqrt{25}=\boxed{5}$.
Final Answer: The final answer is $5$. I hope it is correct.

Problem:
A fair six-sided die is rolled. What is the probability that it shows a number greater than $4$?

Solution:
Two of the six equally likely outcomes, $5$ and $6$, are greater than $4$, so the probability
is $\frac{2}{6}=\boxed{\frac{1}{3}}$.
Final Answer: The final answer is $\frac{1}{3}$. I hope it is correct."""

FEWSHOT_STOPS = ("\nQ:", "\nProblem:")


def fewshot_style(item: Item) -> str:
    """`math` (Minerva-style exemplars) for MATH and CHAMP items, `gsm8k` for word problems."""
    return "math" if item.source in ("math", "champ") else "gsm8k"


def fewshot_prompt(item: Item) -> str:
    if fewshot_style(item) == "math":
        return f"{MATH_EXEMPLARS}\n\nProblem:\n{item.question}\n\nSolution:"
    return f"{GSM8K_EXEMPLARS}\n\n\nQ: {item.question}\nA:"


def build_prompt(item: Item, task: str) -> Prompt:
    """The prompt of one item: a chat for `cot` and `pot`, raw text for `fewshot`."""
    if task == "cot":
        return user_chat(f"{item.question}\n{COT_INSTRUCTION}")
    if task == "pot":
        return user_chat(f"{item.question}\n{POT_INSTRUCTION}")
    if task == "fewshot":
        return fewshot_prompt(item)
    raise ValueError(f"unknown task {task!r}; choose one of {', '.join(TASKS)}")


def stop_words(task: str) -> tuple[str, ...]:
    if task == "fewshot":
        return FEWSHOT_STOPS
    return (OUTPUT_FENCE,) if task == "pot" else ()


# -- program of thought --------------------------------------------------------------------
def code_blocks(text: str) -> list[str]:
    """The complete ```python blocks of a text, in order (an unclosed last block is dropped)."""
    pieces = text.split(CODE_FENCE)[1:]
    return [piece.split("```", 1)[0].strip("\n") for piece in pieces if "```" in piece]


def _without_prints(block: str) -> list[str]:
    """An earlier block's lines, less its top-level print calls (their output was shown)."""
    return [line for line in block.split("\n") if line.startswith(" ") or "print(" not in line]


def program_of(text: str) -> str | None:
    """The program to run for a PoT generation, or None when there is nothing to run.

    Anything from a model-written "```output" on is ignored (a backend without stop strings
    may let the model invent its own output). Code runs only when the text then ends with a
    python block: a model that already wrote its answer after its code is left as it is.
    """
    body = text.split(OUTPUT_FENCE, 1)[0].rstrip()
    blocks = code_blocks(body)
    if not blocks or not body.endswith("```") or not blocks[-1].strip():
        return None
    earlier = [line for block in blocks[:-1] for line in _without_prints(block)]
    return "\n".join([*earlier, blocks[-1]]).strip()


def with_output(text: str, output: str) -> str:
    """The generation up to its code, followed by the program output block."""
    body = text.split(OUTPUT_FENCE, 1)[0].rstrip()
    return f"{body}\n{OUTPUT_FENCE}\n{output}\n```\n"
