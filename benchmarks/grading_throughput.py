"""Grading throughput: pairs per second of `grade_many` (workers=1 and workers=2, both
verdicts, time-bounded, thread-safe) against plain single-threaded Math-Verify,
`verify(parse(gold), parse(pred))`, on the same pairs. Prints the rates and the ratios of one
run.

    python benchmarks/grading_throughput.py [--pairs 2000] [--seed 0]

The grader runs as `prover grade` does (`pred_kind="auto"`: each pred is first checked for
being a bare answer; these preds are outputs). The baseline parses gold exactly as the grader
does (in `$...$` when it has no delimiters); a second baseline line with bare golds is printed
for reference. The grader's worker processes are started fresh and warmed on other pairs
before each timing, and the baseline's sympy and Math-Verify caches are cleared before its
timing. This benchmark does not measure pathological inputs: those are bounded by the
timeout, see tests/test_grading.py.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import time
from collections.abc import Callable

from math_verify import parse, verify
from math_verify.parser import parse_expr_cached, parse_latex_cached
from sympy.core.cache import clear_cache

from prover.grading import delimit_gold, grade_many, shutdown_workers

Pair = tuple[str, str]

WRAPPERS = (
    "So the answer is $\\boxed{{{}}}$.",
    "We simplify step by step.\n\nTherefore the final answer is $\\boxed{{{}}}$.",
    "Adding the cases gives {}.\n\nThe answer is $\\boxed{{{}}}$",
    "Final Answer: The final answer is ${}$. I hope it is correct.",
)


def _numbers(rng: random.Random) -> tuple[str, str, str]:
    """(gold, right answer, wrong answer)."""
    n = rng.randint(-500, 5000)
    return str(n), rng.choice([str(n), f"{n}.0", f"{n:,}"]), str(n + rng.randint(1, 9))


def _fractions(rng: random.Random) -> tuple[str, str, str]:
    a, b = rng.randint(1, 40), rng.randint(41, 97)
    right = rng.choice([f"\\frac{{{a}}}{{{b}}}", f"\\dfrac{{{a}}}{{{b}}}", f"{a}/{b}"])
    return f"\\frac{{{a}}}{{{b}}}", right, f"\\frac{{{a + 1}}}{{{b}}}"


def _decimals(rng: random.Random) -> tuple[str, str, str]:
    a, b = rng.randint(1, 9), rng.choice([2, 4, 5, 8])
    return f"\\frac{{{a}}}{{{b}}}", f"{a / b:g}", f"{a / b + 0.1:g}"


def _expressions(rng: random.Random) -> tuple[str, str, str]:
    a, b = rng.randint(2, 9), rng.randint(2, 30)
    forms = [
        (f"{a}\\sqrt{{{b}}}", f"\\sqrt{{{a * a * b}}}", f"{a + 1}\\sqrt{{{b}}}"),
        (f"{a}\\pi", f"{a}\\pi", f"{a + 1}\\pi"),
        (f"x^2+{a}x+{b}", f"{b}+{a}x+x^2", f"x^2+{a}x-{b}"),
        (f"\\frac{{\\sqrt{{{b}}}}}{{{a}}}", f"\\frac{{\\sqrt{{{b}}}}}{{{a}}}", f"\\sqrt{{{b}}}"),
    ]
    return rng.choice(forms)


def _structures(rng: random.Random) -> tuple[str, str, str]:
    a, b, c = rng.sample(range(-9, 20), 3)
    forms = [
        (f"({a},{b})", f"({a}, {b})", f"({b}, {a})"),
        (f"\\{{{a},{b},{c}\\}}", f"{c}, {a}, {b}", f"{a}, {b}"),
        (f"[{min(a, b)},{max(a, b)})", f"[{min(a, b)}, {max(a, b)})", f"({min(a, b)},{max(a, b)}]"),
        (f"x={a}", f"{a}", f"x={a + 1}"),
    ]
    return rng.choice(forms)


KINDS: tuple[Callable[[random.Random], tuple[str, str, str]], ...] = (
    _numbers,
    _numbers,
    _fractions,
    _decimals,
    _expressions,
    _structures,
)


def make_pairs(count: int, seed: int) -> list[Pair]:
    """A realistic mix: about a third wrong, answers inside model-like text."""
    rng = random.Random(seed)
    pairs = []
    for _ in range(count):
        gold, right, wrong = rng.choice(KINDS)(rng)
        answer = wrong if rng.random() < 0.35 else right
        wrapper = rng.choice(WRAPPERS)
        pred = wrapper.format(answer, answer)  # format ignores the unused second argument
        pairs.append((gold, pred))
    return pairs


def plain(pairs: list[Pair], delimit: bool) -> list[bool]:
    """The baseline: Math-Verify in this thread, with its own (signal) timeouts."""
    return [verify(parse(delimit_gold(g) if delimit else g), parse(p)) for g, p in pairs]


def timed_rate(fn: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    fn()
    return count / (time.perf_counter() - start)


def plain_rate(pairs: list[Pair], warm: list[Pair], delimit: bool) -> float:
    """Baseline pairs/s from cold sympy and Math-Verify caches, after a warm-up on other pairs."""
    for cached in (parse_latex_cached, parse_expr_cached):
        cached.cache_clear()
    clear_cache()
    plain(warm, delimit)
    return timed_rate(lambda: plain(pairs, delimit), len(pairs))


def grader_rate(pairs: list[Pair], warm: list[Pair], workers: int) -> float:
    """grade_many pairs/s on fresh workers, started and warmed on other pairs first."""
    shutdown_workers()
    grade_many(warm, workers=workers, pred_kind="auto")
    return timed_rate(lambda: grade_many(pairs, workers=workers, pred_kind="auto"), len(pairs))


def same_verdicts(pairs: list[Pair]) -> str:
    """How often the grader's Math-Verify verdict is the baseline's (None counts as False),
    and how often the bare-gold baseline differs from the delimited one."""
    ours = [bool(g.math_verify) for g in grade_many(pairs, workers=2, pred_kind="auto")]
    delimited, bare = plain(pairs, True), plain(pairs, False)
    same = sum(a == b for a, b in zip(ours, delimited, strict=True))
    differ = sum(a != b for a, b in zip(delimited, bare, strict=True))
    total = len(pairs)
    return f"same Math-Verify verdict as the baseline: {same}/{total}; bare golds change {differ}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    pairs, warm = make_pairs(args.pairs, args.seed), make_pairs(64, args.seed + 1)
    base = plain_rate(pairs, warm, delimit=True)
    bare = plain_rate(pairs, warm, delimit=False)
    one = grader_rate(pairs, warm, workers=1)
    two = grader_rate(pairs, warm, workers=2)
    print(f"pairs: {len(pairs)}, CPUs: {os.cpu_count()}")
    print(f"plain math_verify, single thread:          {base:8.0f} pairs/s")
    print(f"plain math_verify, bare golds (reference): {bare:8.0f} pairs/s")
    print(f"grade_many workers=1 (both verdicts):      {one:8.0f} pairs/s  {one / base:.2f}x")
    print(f"grade_many workers=2 (both verdicts):      {two:8.0f} pairs/s  {two / base:.2f}x")
    print(f"workers=2 / workers=1:                     {two / one:8.2f}x")
    print(same_verdicts(pairs))
    shutdown_workers()


if __name__ == "__main__":
    main()
