"""Column arithmetic for the verifier's fold notes: a sum or difference of two whole numbers
written one digit column at a time, ones first, as a pupil would on paper.

    59+16  -> 9+6=15, 5+1+1=7 -> 75               (a carry is the `+1` of the next column)
    42-17  -> 12-7=5, 4-1-1=2 -> 25               (a borrow: the leading 1, then `-1` next)
    -16+4  -> -(16-4) 6-4=2, 1-0=1 -> -12         (signs first: the sign and the magnitudes)
    3-9    -> -(9-3) 9-3=6 -> -6

Why: the 1M-parameter character model that writes the toy analyses cannot add two-digit
numbers in one step. Trained on the linear world's fold facts alone for 1,000 steps (batch
64), it got 13.0% of 400 unseen facts right when the note gave only the result, and 79.8%
when the note worked in columns (`benchmarks/v2_fold_facts.py`). Where a verifier cannot
compute a result, it copies the number the proof wrote, and passes the proof's slip. Each
column is one single-digit fact, found at the same place in both operands.

This module computes nothing the checker relies on; products and quotients stay one fact
(their tables are small) and are not written here.
"""

from __future__ import annotations


def _add_columns(p: int, q: int) -> list[str]:
    """p+q for p, q >= 0: `x+y[+1]=s` per column, ones first; `+1` is the carry in."""
    a, b, out, carry = str(p)[::-1], str(q)[::-1], [], 0
    for i in range(max(len(a), len(b))):
        x, y = int(a[i]) if i < len(a) else 0, int(b[i]) if i < len(b) else 0
        s = x + y + carry
        out.append(f"{x}+{y}{'+1' if carry else ''}={s}")
        carry = s // 10
    return out


def _sub_columns(p: int, q: int) -> list[str]:
    """p-q for p >= q >= 0: `[1]x-y[-1]=d` per column, ones first; the leading 1 is the ten
    borrowed from the next column, the trailing `-1` the one lent to the previous."""
    a, b, out, lent = str(p)[::-1], str(q)[::-1], [], 0
    for i in range(len(a)):
        x, y = int(a[i]), int(b[i]) if i < len(b) else 0
        borrow = int(x - y - lent < 0)
        top = f"{'1' if borrow else ''}{x}-{y}{'-1' if lent else ''}"
        out.append(f"{top}={x + 10 * borrow - y - lent}")
        lent = borrow
    return out


def _form(a: int, op: str, b: int) -> tuple[int, int, str, bool]:
    """(p, q, "+" or "-", signed): `a op b` as magnitudes p op' q (p >= q for "-"), and
    whether its sign has to be written (the operands are not already that form)."""
    first, second = a, b if op == "+" else -b
    if (first >= 0) == (second >= 0) or 0 in (first, second):
        p, q, sym = abs(first), abs(second), "+"
    else:
        p, q, sym = max(abs(first), abs(second)), min(abs(first), abs(second)), "-"
    plain = a >= 0 and b >= 0 and (op == "+" or a >= b)
    return p, q, sym, not plain


def column_work(a: int, op: str, b: int) -> str:
    """The work of `a op b` (op "+" or "-"), without its result: the signed form when signs
    matter (`-(16-4) `), then the columns."""
    p, q, sym, signed = _form(a, op, b)
    columns = _add_columns(p, q) if sym == "+" else _sub_columns(p, q)
    value = a + b if op == "+" else a - b
    head = f"{'-' if value < 0 else ''}({p}{sym}{q}) " if signed else ""
    return head + ", ".join(columns)


def one_fact(a: int, op: str, b: int) -> bool:
    """Whether the work of `a op b` is the fact itself (`7+1`: one column, no signs), so a
    note need not show it."""
    p, q, _, signed = _form(a, op, b)
    return not signed and len(str(p)) == 1 and len(str(q)) == 1
