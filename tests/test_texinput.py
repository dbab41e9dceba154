"""Tests for `prover.texinput`: reading problem statements from LaTeX files."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from prover.errors import InputError
from prover.texinput import Problem, parse_problems, read_problems, read_text, select_problem

EXAMPLES = Path(__file__).resolve().parent.parent / "datasets" / "examples"

DOC = (
    "\\documentclass{article}\n\\usepackage{amsmath}\n%s\n\\begin{document}\n%s\n\\end{document}\n"
)


def parsed(source: str) -> list[tuple[str | None, str]]:
    return [(p.label, p.text) for p in parse_problems(source)]


# ---------------------------------------------------------------- documents and fragments

DOCUMENT_CASES = [
    ("fragment", "Prove that $1 + 1 = 2$.\n", [(None, "Prove that $1 + 1 = 2$.")]),
    (
        "full document drops the preamble and what follows the end",
        DOC % ("\\newtheorem{thm}{Theorem}", "Show $x^2 \\ge 0$.") + "trailing junk",
        [(None, "Show $x^2 \\ge 0$.")],
    ),
    (
        "title becomes the label; title commands are dropped",
        DOC % ("\\title{Warm-up}\n\\author{Me}", "\\maketitle\n\\date{\\today}\nShow $a=a$."),
        [("Warm-up", "Show $a=a$.")],
    ),
    (
        "fragment ending in a stray end{document}",
        "Show $b=b$.\n\\end{document}\nnot a problem",
        [(None, "Show $b=b$.")],
    ),
    ("blank lines collapse", "A.\n\n\n\n\nB.\n  \n\t\nC.", [(None, "A.\n\nB.\n\nC.")]),
    ("trailing spaces go", "A.   \nB.\t", [(None, "A.\nB.")]),
]


@pytest.mark.parametrize(
    ("source", "expected"), [c[1:] for c in DOCUMENT_CASES], ids=[c[0] for c in DOCUMENT_CASES]
)
def test_documents_and_fragments(source: str, expected: list) -> None:
    assert parsed(source) == expected


# ---------------------------------------------------------------- comments

COMMENT_CASES = [
    ("end-of-line comment", "A $x$ % a note\nB", "A $x$\nB"),
    ("whole-line comment disappears", "A\n% note\n   % indented note\nB", "A\nB"),
    ("escaped percent stays", "50\\% of $n$ % but this goes", "50\\% of $n$"),
    ("line break then comment", "A \\\\% gone", "A \\\\"),
    ("escaped backslash and escaped percent", "A \\\\\\% kept", "A \\\\\\% kept"),
    ("comment hides a document begin", "% \\begin{document}\nOnly this.", "Only this."),
]


@pytest.mark.parametrize(
    ("source", "expected"), [c[1:] for c in COMMENT_CASES], ids=[c[0] for c in COMMENT_CASES]
)
def test_comments(source: str, expected: str) -> None:
    assert parsed(source) == [(None, expected)]


# ---------------------------------------------------------------- macros

MACRO_CASES = [
    (
        "braced name, no prefix clobbering",
        "\\newcommand{\\R}{\\mathbb{R}}\n$x \\in \\R$, $\\Rightarrow$, $\\Re z$, $\\R^2$",
        "$x \\in \\mathbb{R}$, $\\Rightarrow$, $\\Re z$, $\\mathbb{R}^2$",
    ),
    ("unbraced name", "\\newcommand\\N{\\mathbb{N}}\n$n\\in\\N$", "$n\\in\\mathbb{N}$"),
    (
        "arguments with nested and escaped braces",
        "\\newcommand{\\pair}[2]{(#1, #2)}\n$\\pair{\\frac{1}{2}}{\\{b\\}}$",
        "$(\\frac{1}{2}, \\{b\\})$",
    ),
    (
        "unbraced arguments",
        "\\newcommand{\\sq}[1]{#1^2}\n$\\sq x + \\sq\\alpha$",
        "$x^2 + \\alpha^2$",
    ),
    (
        "optional first argument",
        "\\newcommand{\\seq}[2][n]{#2_1, \\dots, #2_#1}\n$\\seq{a}$ and $\\seq[k]{b}$",
        "$a_1, \\dots, a_n$ and $b_1, \\dots, b_k$",
    ),
    ("def with parameters", "\\def\\half#1{\\frac{#1}{2}}\n$\\half{x+1}$", "$\\frac{x+1}{2}$"),
    ("def without parameters", "\\def\\eps{\\varepsilon}\n$\\eps>0$", "$\\varepsilon>0$"),
    ("renewcommand overrides", "\\newcommand{\\c}{1}\\renewcommand{\\c}{2}\n$\\c$", "$2$"),
    ("providecommand does not override", "\\def\\c{1}\\providecommand{\\c}{2}\n$\\c$", "$1$"),
    (
        "macros in macros",
        "\\newcommand{\\R}{\\mathbb{R}}\\newcommand{\\Rn}{\\R^n}\n$\\Rn$",
        "$\\mathbb{R}^n$",
    ),
    (
        "math operator",
        "\\DeclareMathOperator{\\lcm}{lcm}\n$\\lcm(a, b)$",
        "$\\operatorname{lcm}(a, b)$",
    ),
    ("definition in the body is removed", "Let \\newcommand{\\s}{S}$\\s$ be.", "Let $S$ be."),
    ("line break before a macro name", "\\newcommand{\\R}{X}\nA \\\\R \\R", "A \\\\R X"),
    ("space after a macro is kept", "\\newcommand{\\ab}{\\alpha}\n$\\ab b$", "$\\alpha b$"),
    ("delimited def is left alone", "\\def\\p(#1){#1}\nKeep.", "\\def\\p(#1){#1}\nKeep."),
    ("missing argument is left alone", "\\newcommand{\\f}[1]{#1}\n$x\\f}$", "$x\\f}$"),
]


@pytest.mark.parametrize(
    ("source", "expected"), [c[1:] for c in MACRO_CASES], ids=[c[0] for c in MACRO_CASES]
)
def test_macro_expansion(source: str, expected: str) -> None:
    assert parsed(source) == [(None, expected)]


def test_preamble_macros_expand_in_the_body() -> None:
    source = DOC % ("\\newcommand{\\Z}{\\mathbb{Z}}", "Let $n \\in \\Z$.")
    assert parsed(source) == [(None, "Let $n \\in \\mathbb{Z}$.")]


@pytest.mark.parametrize(
    "source",
    [
        "\\newcommand{\\a}{x\\a}\n\\a",
        "\\def\\b{\\b\\b}\n" + "\\b " * 200,
        "\\newcommand{\\d}{\\e}\\newcommand{\\e}{\\d}\n\\d",
    ],
    ids=["growing", "doubling", "mutual"],
)
def test_recursive_macros_are_an_input_error(source: str) -> None:
    start = time.monotonic()
    with pytest.raises(InputError, match="never finish expanding"):
        parse_problems(source)
    assert time.monotonic() - start < 5


def test_a_macro_defined_as_itself_is_left_as_written() -> None:
    assert parsed("\\newcommand{\\c}{\\c}\n\\c") == [(None, "\\c")]


# ---------------------------------------------------------------- finding the problems

ENV_CASES = [
    (
        "labels and the kinds of environment",
        "Intro.\n\\begin{problem}[IMO 2025, P1]\nFirst.\n\\end{problem}\nBetween.\n"
        "\\begin{exercise}\n  Second,\n    indented.\n\\end{exercise}\n"
        "\\begin{problem*} Third. \\end{problem*}\n"
        "\\begin{question}[Q]Fourth.\\end{question}\n"
        "\\begin{prob}Fifth.\\end{prob}\\begin{task}[T\n  6]Sixth.\\end{task}",
        [
            ("IMO 2025, P1", "First."),
            (None, "Second,\n  indented."),
            (None, "Third."),
            ("Q", "Fourth."),
            (None, "Fifth."),
            ("T 6", "Sixth."),
        ],
    ),
    (
        "label with brackets in braces",
        "\\begin{problem}[{$[0,1]$} interval]Let $x \\in [0,1]$.\\end{problem}",
        [("{$[0,1]$} interval", "Let $x \\in [0,1]$.")],
    ),
    (
        "environments win over lists, and keep their lists",
        "\\begin{enumerate}\\item Not a problem.\\end{enumerate}\n"
        "\\begin{problem}Show:\n\\begin{enumerate}\n\\item $a$\n\\end{enumerate}\n\\end{problem}",
        [(None, "Show:\n\\begin{enumerate}\n\\item $a$\n\\end{enumerate}")],
    ),
    (
        "nested problem environments stay inside the outer one",
        "\\begin{problem}A \\begin{problem}B\\end{problem} C\\end{problem}",
        [(None, "A \\begin{problem}B\\end{problem} C")],
    ),
    ("unclosed environment runs to the end", "\\begin{problem}[X]\nOpen.\n", [("X", "Open.")]),
    ("empty environments are dropped", "\\begin{problem}\\end{problem}\n", []),
]


@pytest.mark.parametrize(
    ("source", "expected"), [c[1:] for c in ENV_CASES], ids=[c[0] for c in ENV_CASES]
)
def test_problem_environments(source: str, expected: list) -> None:
    assert parsed(source) == expected


LIST_CASES = [
    (
        "enumerate items with labels and a nested list",
        "Solve these.\n\\begin{enumerate}[label=(\\alph*)]\n"
        "\\item[A1] Show $x$:\n  \\begin{itemize}\n  \\item $a$\n  \\item $b$\n  \\end{itemize}\n"
        "\\item Second $y$.\n\\end{enumerate}\nGood luck.",
        [
            ("A1", "Show $x$:\n  \\begin{itemize}\n  \\item $a$\n  \\item $b$\n  \\end{itemize}"),
            (None, "Second $y$."),
        ],
    ),
    (
        "itemize, and two top-level lists",
        "\\begin{itemize}\\item One.\\end{itemize} and "
        "\\begin{enumerate}\\item Two.\\end{enumerate}",
        [(None, "One."), (None, "Two.")],
    ),
    ("empty items are dropped", "\\begin{enumerate}\\item \\item B\\end{enumerate}", [(None, "B")]),
    (
        "math outside the list: one problem with a list in it",
        "Let $n \\ge 3$. Find all $k$ such that:\n\\begin{itemize}\n\\item $a$;\n"
        "\\item $b$.\n\\end{itemize}",
        [
            (
                None,
                "Let $n \\ge 3$. Find all $k$ such that:\n\\begin{itemize}\n\\item $a$;\n"
                "\\item $b$.\n\\end{itemize}",
            )
        ],
    ),
    (
        "a list without items is not a problem set",
        "Body text.\n\\begin{itemize}\n\\end{itemize}",
        [(None, "Body text.\n\\begin{itemize}\n\\end{itemize}")],
    ),
    (
        "unclosed list runs to the end",
        "\\begin{enumerate}\\item A\\item B",
        [(None, "A"), (None, "B")],
    ),
]


@pytest.mark.parametrize(
    ("source", "expected"), [c[1:] for c in LIST_CASES], ids=[c[0] for c in LIST_CASES]
)
def test_list_items(source: str, expected: list) -> None:
    assert parsed(source) == expected


def test_indices_are_one_based_and_contiguous() -> None:
    source = "\\begin{enumerate}\\item A\\item\\item C\\end{enumerate}"
    assert parse_problems(source) == [Problem(1, "A", None), Problem(2, "C", None)]


# ---------------------------------------------------------------- select_problem

PROBLEMS = [Problem(1, "a", None), Problem(2, "b", "B"), Problem(3, "c", None)]


@pytest.mark.parametrize(
    ("k", "expected"), [(None, PROBLEMS), (1, PROBLEMS[:1]), (3, PROBLEMS[2:])]
)
def test_select_problem(k: int | None, expected: list[Problem]) -> None:
    assert select_problem(PROBLEMS, k) == expected


@pytest.mark.parametrize("k", [0, -1, 4])
def test_select_problem_out_of_range(k: int) -> None:
    with pytest.raises(InputError, match=r"out of range: set\.tex has 3 problems") as info:
        select_problem(PROBLEMS, k, source="set.tex")
    assert info.value.exit_code == 2 and f"--problem {k}" in str(info.value)


def test_select_problem_counts_one_problem() -> None:
    with pytest.raises(InputError, match="the file has 1 problem "):
        select_problem(PROBLEMS[:1], 2)


# ---------------------------------------------------------------- reading files

ERROR_CASES = [
    ("missing", None, "not found"),
    ("directory", "dir", "is a directory"),
    ("oversize", b"x" * 201, "larger than the 200-byte limit"),
    ("binary", b"\\section{x}\x00\x01\x02", "binary"),
    ("latin-1", "Caf\u00e9 $x$".encode("latin-1"), "not UTF-8 text"),
    ("empty", b"", "is empty"),
    ("whitespace only", b"  \n\t\n", "is empty"),
    ("comments only", b"% a\n  % b\n", "no problem statement"),
    ("preamble only", b"\\documentclass{article}\n\\usepackage{amsmath}\n", "no problem statement"),
    (
        "empty body",
        b"\\documentclass{article}\n\\title{T}\n\\begin{document}\n\\maketitle\n% x\n"
        b"\\end{document}\n",
        "no problem statement",
    ),
    ("definitions only", b"\\newcommand{\\R}{\\mathbb{R}}\n", "no problem statement"),
]


@pytest.mark.parametrize(
    ("content", "message"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
def test_read_errors(tmp_path: Path, content: bytes | str | None, message: str) -> None:
    path = tmp_path / "problem.tex"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message) as info:
        read_problems(path, max_bytes=200)
    text = str(info.value)
    assert str(path) in text and "\n" not in text and info.value.exit_code == 2


def test_read_problems(tmp_path: Path) -> None:
    path = tmp_path / "p.tex"
    path.write_bytes("\ufeffMontrez que $\\sqrt{2} \\notin \\mathbb{Q}$ (é).\n".encode())
    assert read_problems(str(path)) == [
        Problem(1, "Montrez que $\\sqrt{2} \\notin \\mathbb{Q}$ (é).", None)
    ]


def test_read_text(tmp_path: Path) -> None:
    path = tmp_path / "proof.md"
    path.write_bytes("\ufeffBy induction: 50% of $n$.\n".encode())
    assert read_text(path) == "By induction: 50% of $n$.\n"
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(InputError, match="proof.md is not UTF-8 text"):
        read_text(str(path))


def test_size_limit_is_inclusive(tmp_path: Path) -> None:
    path = tmp_path / "p.tex"
    path.write_bytes(b"x" * 64)
    assert read_problems(path, max_bytes=64)[0].text == "x" * 64


# ---------------------------------------------------------------- shipped examples


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.tex")), ids=lambda p: p.name)
def test_examples_parse(path: Path) -> None:
    problems = read_problems(path)
    assert problems and all(p.text for p in problems)
    assert "\\begin{document}" not in problems[0].text


def test_examples_content() -> None:
    assert len(list(EXAMPLES.glob("*.tex"))) >= 4
    imo = read_problems(EXAMPLES / "imo2025_p1.tex")
    assert [p.label for p in imo] == ["IMO 2025 Problem 1"]
    assert "called \\emph{sunny}" in imo[0].text and "the point $(a, b)$" in imo[0].text
    assert "\\defn" not in imo[0].text and imo[0].text.endswith("\\end{itemize}")
    putnam = read_problems(EXAMPLES / "putnam2024.tex")
    assert [p.label for p in putnam] == ["A1", "B3", "B5"]
    cmo = read_problems(EXAMPLES / "cmo2024.tex")
    assert [p.label for p in cmo] == ["CMO 2024 Problem 2", "CMO 2024 Problem 3"]
    assert "\\left\\{ \\frac{x}{a_i} \\right\\}" in cmo[1].text


def test_datasets_is_not_a_python_package() -> None:
    assert not list(EXAMPLES.parent.rglob("*.py"))
