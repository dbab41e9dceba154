# A synthetic stand-in for DeepSeek-Math-V2's inference/math_templates.py, written for the
# tests: the same structure (one dict of triple-quoted literals, `.strip()` on each), the same
# fields and the same `{{`/`}}` brace escapes, but none of the published words.
math_templates = {
    "proof_verification": """
## Brief

Grade the argument below for the stated task. Mark every flaw you see.

Reply like this:

Here is my evaluation of the solution:
... // your notes

Based on my evaluation, the final overal score should be:
\\boxed{{...}} // a grade in {{0, 0.5, 1}}

---

Task input:

## Problem
{statement}

## Solution
{proof}
""".strip(),
    "meta_verification": """
Below are a "task", an "argument" and a "grading" of that argument.

Judge the "grading": are the flaws it names real, and is its grade fair? Sets look like
{{a, b}} and stay literal.

Here is my analysis of the "solution evaluation":
... // your notes

Based on my analysis, I will rate the "solution evaluation" as:
\\boxed{{...}} // 0, 0.5 or 1

---

Task input:

## Problem
{statement}

## Solution
{proof}

## Solution Evaluation
{rating}
""".strip(),
    "proof_generation": """
Work out the task below in full, then grade your own work.

Reply like this:

## Solution // start with this heading
... // the full argument

## Self Evaluation // then this heading

Here is my evaluation of the solution:
... // your notes

Based on my evaluation, the final overal score should be:
\\boxed{{...}} // 0, 0.5 or 1

---

Task input:

## Problem
{question}
""".strip(),
    "proof_refinement": """
{instruction}

## Earlier Attempts
Some attempts and gradings of them follow. Write a better one.

{proofs_to_refine}

## Last Words
Reply with a `## Solution` heading, then a `## Self Evaluation` heading.
""".strip(),
}
