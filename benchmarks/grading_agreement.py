"""Grading agreement: how often `prover.grading`'s verdicts match the expected value, beside
plain Math-Verify on the same cases, so that a regression in either direction shows.

    python benchmarks/grading_agreement.py [--workers 2]

Tables (tests/data/grading/):
- `bare_answers.tsv`: (class, gold, pred, expected), written for this project. PRED is a bare
  answer; the same answers are also graded inside two model-like outputs, a boxed solution and
  a sentence ending "so the answer is $X$". Plain Math-Verify gets both sides in `$...$` for
  the bare form, and gold in `$...$` with the output as it is for the output forms.
- `math_verify_test_all.json`: the parametrized cases of Math-Verify's `tests/test_all.py`
  (source and licence in the file). Plain Math-Verify is `verify(parse(gold), parse(pred))`
  with its defaults.

The project grades every table as `prover grade` does (`pred_kind="auto"`); the bare table is
also graded as outputs (`"output"`, how `prover grade` read it before bare answers were
detected) and the regression table as `prover eval` grades it (`"output"`). "best" is the
better of the project's two graders over the table. An undecided Math-Verify verdict counts as
false. Plain Math-Verify runs in this process's main thread with its own signal timeouts. This
benchmark does not time anything (see grading_throughput.py) and does not change the tables.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from prover.grading import PredKind, delimit_gold, grade_many, shutdown_workers

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "grading"
BARE_TABLE = DATA / "bare_answers.tsv"
MATH_VERIFY_TABLE = DATA / "math_verify_test_all.json"

OUTPUT_FORMS: dict[str, Callable[[str], str]] = {
    "boxed": lambda answer: f"Putting it together, the final answer is $\\boxed{{{answer}}}$.",
    "sentence": lambda answer: f"We simplify each side, so the answer is ${answer}$.",
}


@dataclass(frozen=True)
class Case:
    """One (gold, pred, expected) row; `group` is its class or upstream test name."""

    group: str
    gold: str
    pred: str
    expected: bool


@dataclass(frozen=True)
class Agreement:
    """Shares of a table's cases on which each grader's verdict is the expected one."""

    table: str
    cases: int
    plain: float  # plain Math-Verify
    math_verify: float  # the project's Math-Verify verdict
    deepseek: float  # the project's DeepSeekMath verdict

    @property
    def best(self) -> float:
        return max(self.math_verify, self.deepseek)


def bare_cases(path: Path = BARE_TABLE) -> list[Case]:
    """The bare-answer table: columns class, gold, pred, expected (true/false)."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [Case(r["class"], r["gold"], r["pred"], r["expected"] == "true") for r in rows]


def math_verify_cases(path: Path = MATH_VERIFY_TABLE) -> list[Case]:
    """Math-Verify's own regression cases, as copied into the test data."""
    cases = json.loads(path.read_text(encoding="utf-8"))["cases"]
    return [Case(c["test"], c["gold"], c["pred"], c["expected"]) for c in cases]


def in_output(cases: Sequence[Case], form: str) -> list[Case]:
    """The same cases with each bare answer written inside a model-like output."""
    wrap = OUTPUT_FORMS[form]
    return [Case(c.group, c.gold, wrap(c.pred), c.expected) for c in cases]


def plain_verdicts(cases: Sequence[Case], delimit: str) -> list[bool]:
    """Plain Math-Verify, `verify(parse(gold), parse(pred))`, with the sides named in
    `delimit` ("both", "gold" or "none") put in `$...$` when they have no delimiters."""
    from math_verify import parse, verify

    def side(text: str, name: str) -> str:
        return delimit_gold(text) if delimit in ("both", name) else text

    return [bool(verify(parse(side(c.gold, "gold")), parse(side(c.pred, "pred")))) for c in cases]


def agreement(
    table: str, cases: Sequence[Case], plain: Sequence[bool], kind: PredKind, workers: int
) -> Agreement:
    """The project's agreement on `cases`, graded with `kind`, beside `plain`'s."""
    grades = grade_many([(c.gold, c.pred) for c in cases], workers=workers, pred_kind=kind)
    expected = [c.expected for c in cases]
    return Agreement(
        table,
        len(cases),
        _share(plain, expected),
        _share([bool(g.math_verify) for g in grades], expected),
        _share([g.deepseek for g in grades], expected),
    )


def _share(verdicts: Sequence[bool], expected: Sequence[bool]) -> float:
    return sum(v == e for v, e in zip(verdicts, expected, strict=True)) / len(expected)


def all_agreements(workers: int = 2) -> list[Agreement]:
    """Every table: the bare answers alone and in both output forms, and Math-Verify's own
    regression cases graded as `prover grade` and as `prover eval` grade them."""
    bare, upstream = bare_cases(), math_verify_cases()
    plain = plain_verdicts(bare, "both")
    results = [agreement("bare answers", bare, plain, "auto", workers)]
    results.append(agreement("bare answers, read as outputs", bare, plain, "output", workers))
    for form in OUTPUT_FORMS:
        wrapped = in_output(bare, form)
        plain = plain_verdicts(wrapped, "gold")
        results.append(agreement(f"bare answers, {form} output", wrapped, plain, "auto", workers))
    plain = plain_verdicts(upstream, "none")
    for kind in ("auto", "output"):
        name = f"Math-Verify test_all.py ({kind})"
        results.append(agreement(name, upstream, plain, kind, workers))
    return results


def render(results: Sequence[Agreement]) -> str:
    lines = [f"{'table':42} {'cases':>5} {'plain MV':>9} {'MV':>7} {'DeepSeek':>9} {'best':>7}"]
    for r in results:
        shares = (r.plain, r.math_verify, r.deepseek, r.best)
        lines.append(f"{r.table:42} {r.cases:5d} " + " ".join(f"{s:8.1%}" for s in shares))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    try:
        print(render(all_agreements(args.workers)))
    finally:
        shutdown_workers()


if __name__ == "__main__":
    main()
