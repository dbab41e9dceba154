"""Split a proof's text into numbered claims, find what each claim cites, and pick out the
equalities a computer algebra system can check.

Splitting, in order of preference:
1. keyword labels at the start of a line: `Step 3.`, `**Claim 2:**`, `### Lemma 1`,
   `Proposition 2` (a lemma or proposition becomes a `lemma` node);
2. otherwise numbered items at the start of a line: `1.`, `2)`, `(3)`;
3. otherwise paragraphs (blank-line separated), numbered 1, 2, ...
Text before the first label is a claim of its own (number 0) when it says anything.

Citations: "by (2)", "from (1) and (3)", "Step 3", "Steps 2 and 4", "by Lemma 1", "Claim 2",
`\\eqref{key}` / `\\ref{key}`. A `(2)` needs a cue word before it ("by", "from", "using", ...)
so that `f(2)` or `= (2)(3)` is not a citation. An equation number (`\\tag{2}`, or a line that
ends in `(2)`) and a `\\label{key}` name the claim they are in.

This module does not normalize claims (`prover.graph.normalize`) and does not judge them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

KEYWORDS = {"step": "step", "claim": "claim", "lemma": "lemma", "proposition": "lemma"}
_LEAD = r"^[ \t]*(?:#{1,6}[ \t]*)?[*_]{0,2}[ \t]*"
KEYWORD_LABEL = re.compile(
    _LEAD + r"(step|claim|lemma|proposition)[ \t]+(\d{1,3})\b(?:[ \t]*\([^)\n]*\))?"
    r"[ \t]*(?:[.:)]|[*_]{2}|$)[*_]{0,2}[.:]?",
    re.I | re.M,
)
NUMBER_LABEL = re.compile(_LEAD + r"(?:(\d{1,3})[.)]|\((\d{1,3})\))[*_]{0,2}(?=[ \t])", re.M)

CUE = r"(?:by|from|using|via|see|of|in|with|combining|applying|and|to)"
PAREN_CITE = re.compile(
    rf"\b{CUE}\s+(?:(?:equations?|eqs?\.?|inequality|identity|relation)\s*)?"
    r"\(\d{1,3}\)(?:\s*(?:,|and|&|or)\s*\(\d{1,3}\))*",
    re.I,
)
WORD_CITE = re.compile(
    r"\b(steps?|claims?|lemmas?|propositions?)\s+(\d{1,3}(?:\s*(?:,|and|&|or)\s*\d{1,3})*)",
    re.I,
)
REF_CITE = re.compile(r"\\(?:eq)?ref\{([^}]*)\}")
TAG = re.compile(r"\\tag\{(\d{1,3})\}|\((\d{1,3})\)[ \t]*\$*[ \t]*$", re.M)
LABEL = re.compile(r"\\label\{([^}]*)\}")


@dataclass(frozen=True)
class Claim:
    """One numbered claim of a proof: its position, its label as written, the keys other
    claims cite it by, and the keys it cites."""

    position: int
    label: str
    text: str
    kind: str  # "step" or "lemma"
    names: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    cites: tuple[tuple[str, str], ...] = ()


def split_claims(proof: str) -> list[Claim]:
    """The claims of a proof in order (see the module docstring for the rules)."""
    blocks = _keyword_blocks(proof) or _number_blocks(proof) or _paragraph_blocks(proof)
    claims = []
    for position, (label, key, body) in enumerate(blocks):
        if not body.strip():
            continue
        kind = "lemma" if key and key[0] == "lemma" else "step"
        names = {key} if key else set()
        names |= {("num", a or b) for a, b in TAG.findall(body)}
        names |= {("ref", name) for name in LABEL.findall(body)}
        claims.append(
            Claim(position, label, body.strip(), kind, frozenset(names), tuple(citations(body)))
        )
    return claims


def _keyword_blocks(text: str) -> list[tuple[str, tuple | None, str]]:
    matches = list(KEYWORD_LABEL.finditer(text))
    keys = [(KEYWORDS[m.group(1).lower()], m.group(2)) for m in matches]
    labels = [f"{m.group(1).capitalize()} {m.group(2)}" for m in matches]
    return _blocks(text, matches, labels, keys)


def _number_blocks(text: str) -> list[tuple[str, tuple | None, str]]:
    matches = list(NUMBER_LABEL.finditer(text))
    numbers = [m.group(1) or m.group(2) for m in matches]
    return _blocks(text, matches, [f"({n})" for n in numbers], [("num", n) for n in numbers])


def _blocks(text: str, matches: list[re.Match], labels: list[str], keys: list[tuple]) -> list:
    """[(label, key, body)]: the text before the first match (label "0"), then each match's
    body up to the next match. No matches: no blocks."""
    if not matches:
        return []
    blocks = [("0", None, text[: matches[0].start()])]
    ends = [m.start() for m in matches[1:]] + [len(text)]
    for match, label, key, end in zip(matches, labels, keys, ends, strict=True):
        blocks.append((label, key, text[match.end() : end]))
    return blocks


def _paragraph_blocks(text: str) -> list[tuple[str, tuple | None, str]]:
    paragraphs = [p for p in re.split(r"\n[ \t]*\n", text) if p.strip()]
    return [(str(k), None, p) for k, p in enumerate(paragraphs, 1)]


def citations(text: str) -> list[tuple[str, str]]:
    """The keys `text` cites, in order of appearance, each once."""
    found: list[tuple[int, tuple[str, str]]] = []
    for match in PAREN_CITE.finditer(text):
        found += [(match.start(), ("num", n)) for n in re.findall(r"\((\d+)\)", match.group(0))]
    for match in WORD_CITE.finditer(text):
        kind = KEYWORDS[match.group(1).lower().rstrip("s")]
        found += [(match.start(), (kind, n)) for n in re.findall(r"\d+", match.group(2))]
    found += [(m.start(), ("ref", m.group(1))) for m in REF_CITE.finditer(text)]
    return list(dict.fromkeys(key for _, key in sorted(found)))


def dependencies(claims: list[Claim]) -> list[tuple[int, int]]:
    """(citing index, cited index) pairs in `claims`: a claim depends on the EARLIER claims it
    cites, and on lemmas wherever they stand. A key names the latest earlier claim with that
    name (numbered lists restart), else the first lemma with it."""
    pairs = []
    for i, claim in enumerate(claims):
        for key in claim.cites:
            target = _cited(claims, i, key)
            if target is not None and target != i:
                pairs.append((i, target))
    return list(dict.fromkeys(pairs))


def _cited(claims: list[Claim], i: int, key: tuple[str, str]) -> int | None:
    earlier = [j for j in range(i) if key in claims[j].names]
    if earlier:
        return earlier[-1]
    lemmas = [j for j, c in enumerate(claims) if c.kind == "lemma" and key in c.names]
    return lemmas[0] if lemmas else None


def cited_claims(claims: list[Claim], text: str) -> list[int]:
    """Indices of the claims a text (a verifier's analysis) cites by any of their names."""
    keys = citations(text)
    return [i for i, c in enumerate(claims) if c.names & set(keys)]


# -- equalities a CAS can check ----------------------------------------------------------

MATH = re.compile(r"\$\$(.+?)\$\$|(?<!\\)\$(.+?)(?<!\\)\$|\\\[(.+?)\\\]|\\\((.+?)\\\)", re.S)
# Anything that makes a formula more than a chain of equal expressions.
NOT_EQUALITY = re.compile(
    r"<|>|\\[lg]eq?\b|\\neq?\b|\\equiv|\\pmod|\\bmod|\\mod|\\approx|\\sim|\\in\b|\\notin"
    r"|\\subset|\\supset|\\to\b|\\mapsto|\\implies|\\iff|\\[Rr]ightarrow|\\[Ll]eftarrow|\\forall"
    r"|\\exists|\\[lcv]?dots|\\text|\\begin|\\\\|\\mid|[|,;:?]|\\sum|\\prod|\\int|\\lim|'"
)
SYMBOLS = re.compile(r"\\[a-zA-Z]+|[a-zA-Z]")
CONSTANT_COMMANDS = frozenset(
    "frac dfrac tfrac sqrt cdot times div pi binom left right pm mp ln log exp sin cos tan".split()
)


def equalities(text: str) -> list[tuple[str, str]]:
    """(left, right) for each `=` of each formula in `text` that is only a chain of equal
    expressions; a side that is a lone symbol (`n = 2k` defines n) is not a computation."""
    pairs = []
    for match in MATH.finditer(text):
        formula = next(g for g in match.groups() if g is not None)
        formula = formula.replace("\\!", "").strip().rstrip(".")
        if "=" not in formula or NOT_EQUALITY.search(formula):
            continue
        sides = [s.strip() for s in formula.replace("&", "").split("=")]
        for left, right in zip(sides, sides[1:], strict=False):
            if left and right and not (_lone_symbol(left) or _lone_symbol(right)):
                pairs.append((left, right))
    return pairs


def _lone_symbol(side: str) -> bool:
    return re.fullmatch(r"[a-zA-Z](?:_\{?\w+\}?)?|\\[a-zA-Z]+", side) is not None


def is_closed(expression: str) -> bool:
    """Whether an expression has no variables (only numbers, operators and known constants),
    so a false equality of it is an arithmetic error rather than a conditional equation."""
    return all(
        s.startswith("\\") and s[1:] in CONSTANT_COMMANDS for s in SYMBOLS.findall(expression)
    )
