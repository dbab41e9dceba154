"""Expressions of the toy world: a tiny grammar, its parser and printer, exact values, and the
atomic rewrites that say what ONE proof step may do.

Grammar (spaces ignored): integers of at most 6 digits, one-letter lowercase variables,
`+ - * / ^` (`**` is read as `^`), parentheses and unary minus. Multiplication is never
implicit (`2x` is rejected) and an exponent is a literal 0..6. `-3` is the literal -3, but
`-3^2` is -(3^2). The parser is a hand-written recursive descent: nothing is evaluated as code,
and texts are bounded (MAX_CHARS, MAX_DEGREE, MAX_EXPONENT), so every check takes bounded time.

Trees are tuples, so they hash and compare structurally (redundant parentheses and spaces do
not matter): ("int", v), ("var", name), ("neg", a), (op, a, b) for op in add/sub/mul/div, and
("pow", a, n) with n a Python int. `show` prints the canonical text, `parse(show(t)) == t`.

Values are exact polynomials (int coefficients, Fractions after a division). sympy is the
independent oracle of the tests, not the runtime path: one sympy `expand` costs about 1 ms,
more than a whole proof check here.

The atomic rewrites (the definition of a step that skips nothing):
- `fold_once`: evaluate one operation whose operands are both integer literals
  (`3*9-2 -> 27-2`; a division only when exact, never by zero);
- the expansion stages, each applied to the whole expression at once:
  `expand_powers` ((x+3)^2 -> (x+3)*(x+3)), `distribute` (multiply out every product of sums,
  nothing simplified: x*x+x*3+3*x+3*3), `monomials` (each product becomes c*x^k, in place:
  x^2+3*x+3*x+9), `collect` (like terms combined, terms sorted by degree: x^2+6*x+9);
- `solve_moves`: on an equation L = R, one fold on either side, or move an integer term of L
  to R (2*x+3 = 11 -> 2*x = 11-3), or divide by L's integer factor (2*x = 8 -> x = 8/2).

This module does not know problems, proofs or labels (see `problems`, `proofs`, `check`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction
from functools import lru_cache

Node = tuple
Mono = tuple[tuple[str, int], ...]  # ((var, exponent), ...) sorted by var; () is the constant
Coef = int | Fraction  # an int whenever the coefficient is whole
Value = tuple[tuple[Mono, Coef], ...]  # sorted, no zero coefficients

MAX_CHARS = 200  # one side of one step
MAX_DIGITS = 6
MAX_EXPONENT = 6
MAX_DEGREE = 12
MAX_MAGNITUDE = 10**40
MAX_NESTING = 16  # parentheses; deeper would overflow the recursive parser's stack
MAX_TERMS = 256  # monomials of a value, products of a multiplied-out sum

_TOKEN = re.compile(r"(\d+)|([a-z])|(\*\*|[-+*/^()])|(\S)")
_PREC = {"add": 1, "sub": 1, "mul": 2, "div": 2, "neg": 3, "pow": 4, "int": 5, "var": 5}
_SYMBOL = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
_BINARY = {"+": "add", "-": "sub", "*": "mul", "/": "div"}


class ToyError(ValueError):
    """Text outside the toy language, or a value it does not define (division by zero)."""


# --- Parsing -------------------------------------------------------------------------------


def tokenize(text: str) -> list[tuple[str, object]]:
    if len(text) > MAX_CHARS:
        raise ToyError(f"expression longer than {MAX_CHARS} characters")
    tokens: list[tuple[str, object]] = []
    depth = 0
    for number, var, op, bad in _TOKEN.findall(text):
        if bad:
            raise ToyError(f"unexpected character {bad!r}")
        depth += {"(": 1, ")": -1}.get(op, 0)
        if depth > MAX_NESTING:
            raise ToyError(f"parentheses nested more than {MAX_NESTING} deep")
        if number:
            if len(number) > MAX_DIGITS:
                raise ToyError(f"integer with more than {MAX_DIGITS} digits")
            tokens.append(("int", int(number)))
        elif var:
            tokens.append(("var", var))
        else:
            tokens.append(("op", "^" if op == "**" else op))
    return tokens


class _Parser:
    """Recursive descent: expr := term (+|- term)*; term := unary (*|/ unary)*;
    unary := - unary | power; power := atom (^ INT)?; atom := INT | VAR | ( expr )."""

    def __init__(self, tokens: list[tuple[str, object]]):
        self.tokens, self.pos = tokens, 0

    def peek(self) -> tuple[str, object] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, object]:
        token = self.peek()
        if token is None:
            raise ToyError("expression ends too early")
        self.pos += 1
        return token

    def binary(self, ops: str, operand) -> Node:
        node = operand()
        while (token := self.peek()) is not None and token[0] == "op" and token[1] in ops:
            self.take()
            node = (_BINARY[token[1]], node, operand())
        return node

    def expr(self) -> Node:
        return self.binary("+-", self.term)

    def term(self) -> Node:
        return self.binary("*/", self.unary)

    def unary(self) -> Node:
        if self.peek() == ("op", "-"):
            self.take()
            return neg(self.unary())
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        if self.peek() != ("op", "^"):
            return base
        self.take()
        kind, exponent = self.take()
        if kind != "int" or exponent > MAX_EXPONENT:
            raise ToyError(f"an exponent must be a whole number from 0 to {MAX_EXPONENT}")
        return ("pow", base, exponent)

    def atom(self) -> Node:
        kind, value = self.take()
        if kind in ("int", "var"):
            return (kind, value)
        if value != "(":
            raise ToyError(f"unexpected {value!r}")
        node = self.expr()
        if self.take() != ("op", ")"):
            raise ToyError("unbalanced parentheses")
        return node


@lru_cache(maxsize=1 << 16)
def parse(text: str) -> Node:
    """The tree of one expression; ToyError when the text is outside the grammar."""
    parser = _Parser(tokenize(text))
    if not parser.tokens:
        raise ToyError("empty expression")
    node = parser.expr()
    if parser.pos != len(parser.tokens):
        raise ToyError(f"unexpected {parser.tokens[parser.pos][1]!r}")
    return node


def parse_equation(text: str) -> tuple[Node, Node]:
    """`A = B` as (tree of A, tree of B); exactly one `=`."""
    sides = text.split("=")
    if len(sides) != 2:
        raise ToyError("expected one equation 'A = B'")
    return parse(sides[0].strip()), parse(sides[1].strip())


# --- Building and printing -----------------------------------------------------------------


def neg(node: Node) -> Node:
    """-node; the negation of a non-negative literal is a negative literal."""
    if node[0] == "int" and node[1] >= 0:
        return ("int", -node[1])
    return ("neg", node)


def _negative(node: Node) -> bool:
    return node[0] == "neg" or (node[0] == "int" and node[1] < 0)


def _prec(node: Node) -> int:
    return 3 if _negative(node) else _PREC[node[0]]


def _wrap(node: Node, parens: bool) -> str:
    return f"({show(node)})" if parens else show(node)


@lru_cache(maxsize=1 << 16)
def show(node: Node) -> str:
    """Canonical text: no spaces, only the parentheses the parser needs (and around a negative
    right operand, `x-(-3)`, for readability)."""
    kind = node[0]
    if kind in ("int", "var"):
        return str(node[1])
    if kind == "neg":
        return "-" + _wrap(node[1], _prec(node[1]) < 3)
    if kind == "pow":
        return _wrap(node[1], _prec(node[1]) < 5) + f"^{node[2]}"
    prec = _PREC[kind]
    left = _wrap(node[1], _prec(node[1]) < prec)
    right = _wrap(node[2], _prec(node[2]) <= prec or _negative(node[2]))
    return f"{left}{_SYMBOL[kind]}{right}"


def show_equation(equation: tuple[Node, Node]) -> str:
    return f"{show(equation[0])} = {show(equation[1])}"


def literals(node: Node) -> bool:
    """Whether the tree has no variables."""
    if node[0] == "var":
        return False
    return all(literals(c) for c in node[1:] if isinstance(c, tuple))


# --- Exact values --------------------------------------------------------------------------


def _add(p: dict, q: dict, sign: int = 1) -> dict[Mono, Coef]:
    out = dict(p)
    for mono, coef in q.items():
        out[mono] = out.get(mono, 0) + sign * coef
        if out[mono] == 0:
            del out[mono]
    return out


def _mono_mul(a: Mono, b: Mono) -> Mono:
    exps = dict(a)
    for var, exp in b:
        exps[var] = exps.get(var, 0) + exp
    return tuple(sorted(exps.items()))


def _mul(p: dict, q: dict) -> dict[Mono, Coef]:
    """p*q, refused past MAX_TERMS, MAX_DEGREE or MAX_MAGNITUDE (products are where sizes
    grow, so checking here bounds the time of any value)."""
    if len(p) * len(q) > 16 * MAX_TERMS:
        raise ToyError("too many terms")
    out: dict[Mono, Coef] = {}
    for ma, ca in p.items():
        for mb, cb in q.items():
            mono = _mono_mul(ma, mb)
            out[mono] = out.get(mono, 0) + ca * cb
    out = {m: c for m, c in out.items() if c != 0}
    if len(out) > MAX_TERMS:
        raise ToyError("too many terms")
    if any(sum(e for _, e in mono) > MAX_DEGREE for mono in out):
        raise ToyError(f"degree above {MAX_DEGREE}")
    if any(abs(c) > MAX_MAGNITUDE for c in out.values()):
        raise ToyError("number too large")
    return out


def _divide(coef: Coef, by: Coef) -> Coef:
    quotient = Fraction(coef) / by
    return quotient.numerator if quotient.denominator == 1 else quotient


def _value(node: Node) -> dict[Mono, Coef]:
    kind = node[0]
    if kind == "int":
        return {(): node[1]} if node[1] else {}
    if kind == "var":
        return {((node[1], 1),): 1}
    if kind == "neg":
        return _add({}, _value(node[1]), -1)
    if kind == "pow":
        out, base = {(): 1}, _value(node[1])
        for _ in range(node[2]):
            out = _mul(out, base)
        return out
    left, right = _value(node[1]), _value(node[2])
    if kind in ("add", "sub"):
        return _add(left, right, 1 if kind == "add" else -1)
    if kind == "mul":
        return _mul(left, right)
    if not right:
        raise ToyError("division by zero")
    if set(right) != {()}:
        raise ToyError("division by a non-constant")
    return {m: _divide(c, right[()]) for m, c in left.items()}


@lru_cache(maxsize=1 << 16)
def value(node: Node) -> Value:
    """The exact polynomial of a tree; ToyError for 1/0, x/y, or sizes past the bounds."""
    return tuple(sorted(_value(node).items()))


def degree(val: Value) -> int:
    return max((sum(e for _, e in mono) for mono, _ in val), default=0)


def _linear_form(equation: tuple[Node, Node]) -> dict[Mono, Coef]:
    """L - R of a linear equation, as {monomial: coefficient}."""
    diff = _add(dict(value(equation[0])), dict(value(equation[1])), -1)
    if any(len(mono) > 1 or (mono and mono[0][1] > 1) for mono in diff):
        raise ToyError("not a linear equation")
    return diff


def implies(old: tuple[Node, Node], new: tuple[Node, Node]) -> bool:
    """Whether every solution of the linear equation `old` solves `new`: `new` is a
    tautology (0 = 0) or a non-zero multiple of `old`. No ex falso: a contradiction such as
    0 = 5 implies only its own multiples. ToyError when either side is not linear."""
    p, q = _linear_form(old), _linear_form(new)
    if not q:
        return True
    if not p or p.keys() != q.keys():
        return False
    ratio = next(Fraction(q[m]) / p[m] for m in p)
    return all(q[m] == ratio * p[m] for m in p)


# --- Atomic rewrites: folding one operation ------------------------------------------------


def _fold(node: Node) -> Node | None:
    """The literal that an operation on literals gives, or None."""
    kind, children = node[0], node[1:]
    if kind in ("int", "var") or not all(c[0] == "int" for c in children if isinstance(c, tuple)):
        return None
    if kind == "neg":
        return ("int", -children[0][1])
    if kind == "pow":
        return ("int", children[0][1] ** children[1])
    a, b = children[0][1], children[1][1]
    if kind == "div":
        return ("int", a // b) if b and a % b == 0 else None
    return ("int", {"add": a + b, "sub": a - b, "mul": a * b}[kind])


@lru_cache(maxsize=1 << 16)
def fold_once(node: Node) -> tuple[Node, ...]:
    """Every tree made by folding exactly one operation, leftmost operation first."""
    folded = _fold(node)
    if folded is not None:
        return (folded,)
    out = []
    for i, child in enumerate(node):
        if isinstance(child, tuple):
            out += [node[:i] + (new,) + node[i + 1 :] for new in fold_once(child)]
    return tuple(out)


# --- Atomic rewrites: the expansion stages -------------------------------------------------

Term = tuple[int, tuple[Node, ...]]  # (sign, factors), factors are literals, variables, powers


def _atom(node: Node) -> bool:
    return node[0] in ("int", "var") or (node[0] == "pow" and node[1][0] in ("int", "var"))


@lru_cache(maxsize=1 << 16)
def terms(node: Node) -> tuple[Term, ...] | None:
    """The expression multiplied out as signed products of atoms; None if it has a power of a
    sum or a division (those need another stage first) or would have over MAX_TERMS terms."""
    if _atom(node):
        return ((1, (node,)),)
    kind = node[0]
    parts = [terms(c) for c in node[1:] if isinstance(c, tuple)]
    if kind in ("pow", "div") or any(p is None for p in parts):
        return None
    if kind == "neg":
        return tuple((-s, f) for s, f in parts[0])
    if kind == "mul":
        if len(parts[0]) * len(parts[1]) > MAX_TERMS:
            return None
        return tuple((sa * sb, fa + fb) for sa, fa in parts[0] for sb, fb in parts[1])
    sign = 1 if kind == "add" else -1
    return parts[0] + tuple((sign * s, f) for s, f in parts[1])


def build(items: Sequence[Term]) -> Node:
    """A sum of signed products, left to right (the inverse of `terms` on flat sums)."""
    node: Node | None = None
    for sign, factors in items:
        if node is None and sign < 0 and factors[0][0] == "int":
            factors = (neg(factors[0]),) + factors[1:]
            sign = 1
        product = factors[0]
        for factor in factors[1:]:
            product = ("mul", product, factor)
        if node is None:
            node = product if sign > 0 else neg(product)
        else:
            node = ("add" if sign > 0 else "sub", node, product)
    return node if node is not None else ("int", 0)


def _changed(old: Node, new: Node) -> Node | None:
    return None if new == old else new


def _expand_pow(node: Node) -> Node:
    if node[0] in ("int", "var"):
        return node
    node = tuple(_expand_pow(c) if isinstance(c, tuple) else c for c in node)
    if node[0] == "pow" and not _atom(node) and node[2] >= 2:
        product = node[1]
        for _ in range(node[2] - 1):
            product = ("mul", product, node[1])
        return product
    return node


def expand_powers(node: Node) -> Node | None:
    """Every power (2 or more) of a sum or product written as a product of copies."""
    return _changed(node, _expand_pow(node))


def distribute(node: Node) -> Node | None:
    """Every product of sums multiplied out, nothing simplified."""
    items = terms(node)
    return None if items is None else _changed(node, build(items))


@lru_cache(maxsize=1 << 16)
def _flat(node: Node) -> tuple[Term, ...] | None:
    """The terms of an expression that is already a flat sum of products of atoms."""
    items = terms(node)
    return items if items is not None and build(items) == node else None


def _monomial(sign: int, factors: tuple[Node, ...]) -> Term:
    val = value(build([(sign, factors)]))
    ((mono, coef),) = val or (((), 0),)
    out = [("int", abs(int(coef)))] if abs(coef) != 1 or not mono else []
    out += [("var", v) if e == 1 else ("pow", ("var", v), e) for v, e in mono]
    return (-1 if coef < 0 else 1, tuple(out))


def monomials(node: Node) -> Node | None:
    """Each product of a flat sum written as one monomial c*x^k, terms kept in place."""
    items = _flat(node)
    if items is None:
        return None
    return _changed(node, build([_monomial(s, f) for s, f in items]))


def canonical(val: Value) -> Node:
    """The sorted polynomial: by degree, then by exponents in variable order (a^2, a*b, b^2)."""
    names = sorted({v for mono, _ in val for v, _ in mono})

    def key(item: tuple[Mono, Coef]) -> tuple:
        exps = dict(item[0])
        return (-degree((item,)), tuple(-exps.get(v, 0) for v in names))

    ordered = sorted(val, key=key)
    if any(c.denominator != 1 for _, c in ordered):
        raise ToyError("fractional coefficients are outside the toy world")
    return build([_monomial(1, (("int", int(c)),) + _mono_atoms(m)) for m, c in ordered])


def _mono_atoms(mono: Mono) -> tuple[Node, ...]:
    return tuple(("var", v) if e == 1 else ("pow", ("var", v), e) for v, e in mono)


def collect(node: Node) -> Node | None:
    """Like terms of a sum of monomials combined, terms sorted (see `canonical`)."""
    items = _flat(node)
    if items is None or monomials(node) is not None:
        return None
    return _changed(node, canonical(value(node)))


EXPANSION_STAGES = (expand_powers, distribute, monomials, collect)


@lru_cache(maxsize=1 << 16)
def expansion_steps(node: Node) -> tuple[Node, ...]:
    """Every tree one expansion stage makes, in stage order."""
    return tuple(new for stage in EXPANSION_STAGES if (new := stage(node)) is not None)


# --- Atomic rewrites: solving a linear equation --------------------------------------------


def _move(left: Node, right: Node) -> tuple[Node, Node] | None:
    kind = left[0]
    if kind in ("add", "sub") and left[2][0] == "int":
        return left[1], ("sub" if kind == "add" else "add", right, left[2])
    if kind == "add" and left[1][0] == "int":
        return left[2], ("sub", right, left[1])
    if kind == "mul" and left[1][0] == "int" and left[1][1] != 0:
        return left[2], ("div", right, left[1])
    return None


@lru_cache(maxsize=1 << 16)
def solve_moves(equation: tuple[Node, Node]) -> tuple[tuple[Node, Node], ...]:
    """Every equation one solving step makes: a fold on the right, a fold on the left, then
    moving L's integer term or dividing by L's integer factor (in the generator's order)."""
    left, right = equation
    out = [(left, r) for r in fold_once(right)] + [(lf, right) for lf in fold_once(left)]
    moved = _move(left, right)
    return tuple(out + ([moved] if moved else []))
