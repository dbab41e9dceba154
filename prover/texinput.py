"""Read problem statements from a LaTeX file (`prover solve PROBLEM.tex`).

A file is a full document (only the body between `\\begin{document}` and `\\end{document}` is
read) or a fragment. Comments are dropped, simple macros (`\\newcommand`, `\\renewcommand`,
`\\providecommand`, `\\def`, `\\DeclareMathOperator`) are expanded, and the problems are found
in this order: problem-like environments, else the items of the outermost lists, else the whole
body as one problem. The statements keep their LaTeX (math, `\\emph`, inner lists).

This module does not run TeX: it does not follow `\\input`/`\\include`, honour catcodes or
groups (a definition holds from the start of the file), expand delimited `\\def` macros, or
protect verbatim text. It does not render or validate the math.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

from prover.errors import InputError

MAX_BYTES = 1_000_000  # size limit of a problem file
MAX_PASSES = 32  # macro expansion passes; a recursive macro stops here
_GROWTH = 10  # expansion may grow the text at most this many times (plus _SLACK characters)
_SLACK = 100_000

PROBLEM_ENVS = ("problem", "exercise", "question", "prob", "task")
LIST_ENVS = ("enumerate", "itemize", "description")

_CS = re.compile(r"\\([A-Za-z@]+|.)", re.S)  # one control sequence: a word or a symbol
_DEFINE = re.compile(
    r"\\(newcommand|renewcommand|providecommand|DeclareMathOperator)(?![A-Za-z@])(\*?)"
    r"|\\(def|gdef|edef|xdef)(?![A-Za-z@])"
)
_PROBLEM_ENV = re.compile(r"\\(begin|end)\{(?:" + "|".join(PROBLEM_ENVS) + r")\*?\}")
_LIST_TOKEN = re.compile(r"\\(begin|end)\{(?:" + "|".join(LIST_ENVS) + r")\}|\\item(?![A-Za-z@])")
_MATH = re.compile(r"\$|\\\(|\\\[|\\begin\{(?:equation|align|gather|multline|eqnarray)")
_DOC_BEGIN = re.compile(r"\\begin\{document\}")
_DOC_END = re.compile(r"\\end\{document\}")


@dataclass(frozen=True)
class Problem:
    """One problem statement found in a file."""

    index: int  # 1-based position in the file
    text: str  # the statement, LaTeX kept, stripped
    label: str | None  # environment optional argument, `\item[label]` or the title, if any


@dataclass(frozen=True)
class Macro:
    """A macro definition: `\\name` with `nargs` arguments (`#1`..) and an optional default."""

    name: str
    nargs: int
    body: str
    default: str | None = None  # default of an optional first argument (`\newcommand[2][x]`)


# ---------------------------------------------------------------- reading files


def read_problems(path: str | Path, max_bytes: int = MAX_BYTES) -> list[Problem]:
    """Read and parse a problem file; raise `InputError` (one line, naming the file) if unusable."""
    path = Path(path)
    text = read_text(path, max_bytes)
    if not text.strip():
        raise InputError(f"{path} is empty: write a problem statement in it")
    problems = parse_problems(text)
    if not problems:
        raise InputError(
            f"{path} has no problem statement (only a preamble, comments or title commands)"
        )
    return problems


def read_text(path: str | Path, max_bytes: int = MAX_BYTES) -> str:
    """A text file's content (a problem or a proof), without a UTF-8 byte order mark.

    Raises `InputError` (one line, naming the file) for a missing file, a directory, a file
    over `max_bytes`, a binary file (NUL bytes) or one that is not UTF-8.
    """
    path = Path(path)
    data = _read_bytes(path, max_bytes)
    if b"\x00" in data:
        raise InputError(f"{path} looks like a binary file (it contains NUL bytes), not text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{path} is not UTF-8 text (invalid byte at offset {exc.start}); re-save it as UTF-8"
        ) from exc
    return text.removeprefix("\ufeff")


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    """At most `max_bytes` bytes of a regular file."""
    if not path.exists():
        raise InputError(f"file not found: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a file")
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(data) > max_bytes:
        raise InputError(f"{path} is larger than the {max_bytes:,}-byte limit")
    return data


def select_problem(
    problems: list[Problem], k: int | None, source: str | Path | None = None
) -> list[Problem]:
    """Problem `k` (1-based) as a one-element list, or all of them when `k` is None."""
    if k is None:
        return list(problems)
    if not 1 <= k <= len(problems):
        where = f"{source} has" if source is not None else "the file has"
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        raise InputError(f"--problem {k} is out of range: {where} {count} (1 to {len(problems)})")
    return [problems[k - 1]]


# ---------------------------------------------------------------- parsing


def parse_problems(source: str) -> list[Problem]:
    """The problems of a LaTeX document or fragment, in order; empty statements are dropped."""
    preamble, body = split_document(strip_comments(source))
    body, macros = take_definitions(body, collect_macros(preamble))
    body = expand_macros(body, macros)
    title = _first_argument(preamble, "title") or _first_argument(body, "title")
    title = expand_macros(title, macros) if title else None
    body = _drop_title_commands(body)
    found = _find_problems(body, title)
    cleaned = [(label, _clean(text)) for label, text in found]
    kept = [(label, text) for label, text in cleaned if text]
    return [Problem(i, text, label) for i, (label, text) in enumerate(kept, start=1)]


def strip_comments(text: str) -> str:
    """Drop `%` comments (not `\\%`); lines that were only a comment disappear."""
    lines = []
    for line in text.splitlines():
        cut = _comment_start(line)
        if cut is None:
            lines.append(line)
        elif line[:cut].strip():
            lines.append(line[:cut].rstrip())
    return "\n".join(lines)


def _comment_start(line: str) -> int | None:
    """Index of the first unescaped `%` in a line, or None."""
    for match in re.finditer("%", line):
        if not _escaped(line, match.start()):
            return match.start()
    return None


def split_document(text: str) -> tuple[str, str]:
    """(preamble, body): a fragment is all body; a document without a body has none."""
    begin = _DOC_BEGIN.search(text)
    if begin is None and _command("documentclass").search(text):
        return text, ""
    start = begin.end() if begin else 0
    end = _DOC_END.search(text, start)
    return text[: begin.start() if begin else 0], text[start : end.start() if end else len(text)]


# ---------------------------------------------------------------- TeX-ish scanning


def group_end(text: str, start: int, closing: str = "}") -> int | None:
    """Index just past the group that opens at `text[start]` (`{` or `[`), or None if unclosed.

    Escaped characters (`\\{`, `\\]`) do not count, and braces nest inside `[...]`.
    """
    depth = 0
    i = start + 1
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char == closing and depth == 0:
            return i + 1
        if char == "{":
            depth += 1
        elif char == "}":
            if depth == 0:
                return None
            depth -= 1
        i += 1
    return None


def _skip_spaces(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\n":
        i += 1
    return i


def read_group(text: str, i: int) -> tuple[str, int] | None:
    """The contents of the braced group at `text[i]` (after spaces) and the index after it."""
    i = _skip_spaces(text, i)
    if i >= len(text) or text[i] != "{":
        return None
    end = group_end(text, i)
    return None if end is None else (text[i + 1 : end - 1], end)


def read_optional(text: str, i: int) -> tuple[str | None, int]:
    """The contents of an optional `[...]` argument at `text[i]` (after spaces), or None."""
    j = _skip_spaces(text, i)
    if j >= len(text) or text[j] != "[":
        return None, i
    end = group_end(text, j, "]")
    return (None, i) if end is None else (text[j + 1 : end - 1], end)


def _read_argument(text: str, i: int) -> tuple[str, int] | None:
    """A macro argument: a braced group, a control sequence or one character."""
    group = read_group(text, i)
    if group is not None:
        return group
    i = _skip_spaces(text, i)
    if i >= len(text) or text[i] == "}":
        return None
    token = _CS.match(text, i)
    end = token.end() if token else i + 1
    return text[i:end], end


def _escaped(text: str, i: int) -> bool:
    """Whether `text[i]` follows an odd number of backslashes (`\\\\begin` is a line break)."""
    j = i
    while j > 0 and text[j - 1] == "\\":
        j -= 1
    return (i - j) % 2 == 1


def _tokens(pattern: re.Pattern[str], text: str) -> list[re.Match[str]]:
    """The matches of `pattern` whose leading backslash is not escaped."""
    return [match for match in pattern.finditer(text) if not _escaped(text, match.start())]


# ---------------------------------------------------------------- macros


def collect_macros(preamble: str) -> dict[str, Macro]:
    """The macros defined in a preamble (or any text), by name without the backslash."""
    return take_definitions(preamble)[1]


def take_definitions(
    text: str, known: dict[str, Macro] | None = None
) -> tuple[str, dict[str, Macro]]:
    """Remove the macro definitions from `text`; return the rest and known + new macros.

    A definition that cannot be parsed (a delimited `\\def`, unbalanced braces) stays in place.
    """
    macros = dict(known or {})
    pieces: list[str] = []
    pos = 0
    for match in _tokens(_DEFINE, text):
        parsed = _parse_definition(text, match) if match.start() >= pos else None
        if parsed is None:
            continue
        macro, end = parsed
        if match.group(1) != "providecommand" or macro.name not in macros:
            macros[macro.name] = macro
        pieces.append(text[pos : match.start()])
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces), macros


def _parse_definition(text: str, match: re.Match[str]) -> tuple[Macro, int] | None:
    """The macro defined at `match` and the index after its definition, or None."""
    if match.group(3):
        return _parse_def(text, match.end())
    if match.group(1) == "DeclareMathOperator":
        return _parse_operator(text, match.end(), star=bool(match.group(2)))
    return _parse_newcommand(text, match.end())


def _read_name(text: str, i: int) -> tuple[str, int] | None:
    """The macro name at `text[i]`: `\\name` or `{\\name}` (after spaces)."""
    group = read_group(text, i)
    if group is not None:
        named = _CS.fullmatch(group[0].strip())
        return None if named is None else (named.group(1), group[1])
    i = _skip_spaces(text, i)
    named = _CS.match(text, i)
    return None if named is None else (named.group(1), named.end())


def _parse_newcommand(text: str, i: int) -> tuple[Macro, int] | None:
    """`{\\name}[N][default]{body}` after `\\newcommand` and friends."""
    named = _read_name(text, i)
    if named is None:
        return None
    name, i = named
    count, i = read_optional(text, i)
    if count is not None and not count.strip().isdigit():
        return None
    default, i = read_optional(text, i) if count else (None, i)
    body = read_group(text, i)
    if body is None:
        return None
    return Macro(name, int(count) if count else 0, body[0], default), body[1]


def _parse_def(text: str, i: int) -> tuple[Macro, int] | None:
    """`\\name#1#2{body}` after `\\def`; delimited parameters are not supported."""
    named = _read_name(text, i)
    if named is None:
        return None
    name, i = named
    params = re.compile(r"((?:#[1-9])*)\s*(?=\{)").match(text, i)
    if params is None:
        return None
    body = read_group(text, params.end())
    if body is None:
        return None
    return Macro(name, len(params.group(1)) // 2, body[0]), body[1]


def _parse_operator(text: str, i: int, star: bool) -> tuple[Macro, int] | None:
    """`{\\name}{text}` after `\\DeclareMathOperator`: `\\name` becomes `\\operatorname{text}`."""
    named = _read_name(text, i)
    body = read_group(text, named[1]) if named else None
    if named is None or body is None:
        return None
    operator = "\\operatorname" + ("*" if star else "") + "{" + body[0] + "}"
    return Macro(named[0], 0, operator), body[1]


def expand_macros(text: str, macros: dict[str, Macro], max_passes: int = MAX_PASSES) -> str:
    """Expand the macros in `text`, one left-to-right pass at a time, until nothing changes.

    A recursive macro that keeps changing the text for `max_passes` passes, or grows it past
    `_GROWTH` times its size, is an `InputError`: a half-expanded statement would only mislead
    the model (and could overflow its context).
    """
    if not macros:
        return text
    limit = _GROWTH * len(text) + _SLACK
    for _ in range(max_passes):
        expanded = _expand_once(text, macros, limit)
        if expanded == text:
            return text
        if expanded is None:
            break
        text = expanded
    raise InputError("the file's macro definitions never finish expanding (a recursive macro?)")


def _expand_once(text: str, macros: dict[str, Macro], limit: int) -> str | None:
    """One pass over `text` (expansions are not rescanned), or None past `limit` characters."""
    pieces: list[str] = []
    size = pos = 0
    while (match := _CS.search(text, pos)) is not None:
        macro = macros.get(match.group(1))
        call = _expand_call(text, match.end(), macro) if macro else None
        if call is None:
            pieces.append(text[pos : match.end()])
            pos = match.end()
            continue
        pieces += [text[pos : match.start()], call[0]]
        size += len(call[0])
        if size > limit:
            return None
        pos = call[1]
    pieces.append(text[pos:])
    return "".join(pieces)


def _expand_call(text: str, i: int, macro: Macro) -> tuple[str, int] | None:
    """The expansion of `macro` whose arguments start at `text[i]`, and the index after them."""
    args: list[str] = []
    if macro.default is not None:
        optional, i = read_optional(text, i)
        args.append(macro.default if optional is None else optional)
    while len(args) < macro.nargs:
        arg = _read_argument(text, i)
        if arg is None:
            return None
        args.append(arg[0])
        i = arg[1]
    return _substitute(macro.body, args), i


def _substitute(body: str, args: list[str]) -> str:
    """`body` with `#1`..`#9` replaced by `args` and `##` by `#`."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1) == "#":
            return "#"
        n = int(match.group(1))
        return args[n - 1] if n <= len(args) else match.group(0)

    return re.sub(r"#([1-9#])", replace, body)


# ---------------------------------------------------------------- finding the problems


def _command(name: str) -> re.Pattern[str]:
    return re.compile(r"\\" + name + r"(?![A-Za-z@])")


def _first_argument(text: str, name: str) -> str | None:
    """The argument of the first `\\name[...]{...}` in `text`, whitespace collapsed."""
    for match in _tokens(_command(name), text):
        _, i = read_optional(text, match.end())
        group = read_group(text, i)
        if group is not None:
            return " ".join(group[0].split()) or None
    return None


def _drop_title_commands(body: str) -> str:
    """The body without `\\maketitle`, `\\title{..}`, `\\author{..}` and `\\date{..}`."""
    body = _command("maketitle").sub("", body)
    for name in ("title", "author", "date"):
        body = _drop_command(body, name)
    return body


def _drop_command(text: str, name: str) -> str:
    """`text` without each `\\name[...]{...}` (a command without its argument stays)."""
    pieces: list[str] = []
    pos = 0
    for match in _tokens(_command(name), text):
        _, i = read_optional(text, match.end())
        group = read_group(text, i)
        if group is None or match.start() < pos:
            continue
        pieces.append(text[pos : match.start()])
        pos = group[1]
    pieces.append(text[pos:])
    return "".join(pieces)


def _find_problems(body: str, title: str | None) -> list[tuple[str | None, str]]:
    """(label, text) pairs: problem environments, else outer list items, else the whole body.

    List items count as problems only when the text outside the lists has no math: a single
    statement with a list of conditions in it stays one problem.
    """
    found = _environment_problems(body)
    if found:
        return found
    spans = _outer_lists(body)
    items = [item for span in spans for item in _split_items(body[span[1] : span[2]])]
    if any(text.strip() for _, text in items) and not _MATH.search(_outside(body, spans)):
        return items
    return [(title, body)]


def _environment_problems(body: str) -> list[tuple[str | None, str]]:
    """(label, text) of each outermost problem-like environment; an unclosed one runs to the end."""
    found: list[tuple[str | None, str]] = []
    depth = start = 0
    label: str | None = None
    for match in _tokens(_PROBLEM_ENV, body):
        if match.group(1) == "begin":
            if depth == 0:
                label, start = read_optional(body, match.end())
            depth += 1
        elif depth > 0:
            depth -= 1
            if depth == 0:
                found.append((_label(label), body[start : match.start()]))
    if depth > 0:
        found.append((_label(label), body[start:]))
    return found


def _outer_lists(body: str) -> list[tuple[int, int, int, int]]:
    """(start, content start, content end, end) of each outermost list environment."""
    spans: list[tuple[int, int, int, int]] = []
    depth = begin = content = 0
    for match in _tokens(_LIST_TOKEN, body):
        if match.group(1) == "begin":
            if depth == 0:
                begin, content = match.start(), read_optional(body, match.end())[1]
            depth += 1
        elif match.group(1) == "end" and depth > 0:
            depth -= 1
            if depth == 0:
                spans.append((begin, content, match.start(), match.end()))
    if depth > 0:
        spans.append((begin, content, len(body), len(body)))
    return spans


def _outside(body: str, spans: list[tuple[int, int, int, int]]) -> str:
    """The text of `body` outside the given list spans."""
    bounds = [0, *(bound for span in spans for bound in (span[0], span[3])), len(body)]
    return "".join(body[bounds[i] : bounds[i + 1]] for i in range(0, len(bounds), 2))


def _split_items(content: str) -> list[tuple[str | None, str]]:
    """(label, text) of each top-level `\\item` in a list's content; nested lists stay inside."""
    starts: list[re.Match[str]] = []
    depth = 0
    for match in _tokens(_LIST_TOKEN, content):
        if match.group(1) == "begin":
            depth += 1
        elif match.group(1) == "end":
            depth = max(depth - 1, 0)
        elif depth == 0:
            starts.append(match)
    ends = [match.start() for match in starts[1:]] + [len(content)]
    items: list[tuple[str | None, str]] = []
    for match, end in zip(starts, ends[: len(starts)], strict=True):
        label, start = read_optional(content, match.end())
        items.append((_label(label), content[start:end]))
    return items


def _label(raw: str | None) -> str | None:
    return " ".join(raw.split()) or None if raw is not None else None


def _clean(text: str) -> str:
    """Strip, drop trailing spaces and collapse runs of blank lines to one.

    A statement that starts on its own line is dedented; one that starts mid-line (after
    `\\item`) keeps the indents of its later lines.
    """
    lines = [line.rstrip() for line in text.split("\n")]
    if lines and not lines[0].strip():
        text = textwrap.dedent("\n".join(lines))
    else:
        text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text.strip())
