"""The README's examples run as written from a fresh clone (issue 14): every file a command
names exists in the repository or is written by an earlier command, every `prover` command and
option it uses exists, and every top-level command appears. Static checks only: nothing runs."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
import yaml

from prover.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

# Hub ids the examples name: models to download, not files of the repository.
HUB_IDS = {"deepseek-ai/deepseek-math-7b-rl"}
# Options whose value is a file or folder the command writes (--graph: creates or adds to).
OUTPUT_OPTIONS = {"--out", "-o", "--report", "--removed", "--graph", "--save-index"}
SHARED_OUTPUTS = {"--graph"}
# Positional arguments a command writes: (command words, index of the output among the
# positional arguments that follow them).
OUTPUT_POSITIONALS = {
    ("python", "-m", "prover.tiny"): 0,
    ("prover", "toy", "write"): 0,
    ("prover", "data", "classify"): 1,
    ("prover", "data", "dedup"): 1,
    ("prover", "data", "decontaminate"): 1,
    ("prover", "graph", "export"): 0,
}
# Programs whose arguments are not checked: the installer, and vLLM serving a hub id.
UNCHECKED = {"pip", "vllm"}
PATH_SUFFIXES = (
    ".tex", ".md", ".jsonl", ".json", ".tsv", ".csv", ".yaml", ".yml", ".bin", ".db", ".lean",
    ".graphml", ".npz", ".txt", ".parquet", ".py", ".gz",
)  # fmt: skip
SEPARATORS = {"&&", "||", ";", "&", "|"}


@dataclass
class Command:
    words: list[str]
    line: int
    redirect: str | None = None


def code_blocks(text: str) -> list[tuple[int, list[str]]]:
    """(first line number, lines) of each fenced block and each indented block."""
    blocks, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        if lines[i].startswith("```"):
            start, i = i + 1, i + 1
            body = []
            while not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            blocks.append((start + 1, body))
        elif lines[i].startswith("    ") and (i == 0 or not lines[i - 1].strip()):
            start, body = i, []
            while i < len(lines) and (lines[i].startswith("    ") or not lines[i].strip()):
                body.append(lines[i][4:])
                i += 1
            blocks.append((start + 1, body))
            continue
        i += 1
    return blocks


def commands(text: str) -> list[Command]:
    """Every shell command of the README's code blocks, in order, continuation lines joined,
    split at `&&`, `;`, `&` and pipes, with its `>` target."""
    found = []
    for start, body in code_blocks(text):
        joined, first = "", None
        for offset, raw in enumerate(body):
            if first is None:
                first = start + offset
            if raw.rstrip().endswith("\\"):
                joined += raw.rstrip()[:-1] + " "
                continue
            joined += raw
            found += _split(joined, first)
            joined, first = "", None
    return found


def _split(line: str, number: int) -> list[Command]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split, lexer.commenters = True, "#"
    out, words, redirect = [], [], None
    tokens = list(lexer)
    k = 0
    while k < len(tokens):
        token = tokens[k]
        if token in SEPARATORS:
            if words:
                out.append(Command(words, number, redirect))
            words, redirect = [], None
        elif token == ">":
            k += 1
            redirect = tokens[k]
        else:
            words.append(token)
        k += 1
    if words:
        out.append(Command(words, number, redirect))
    return out


def path_value(token: str) -> str | None:
    """The file or folder a command argument names, or None when it names none."""
    if token.startswith(("http://", "https://", "gym:")) or token in HUB_IDS:
        return None
    for prefix in ("prm:", "orm:"):
        if token.startswith(prefix):
            token = token[len(prefix) :]
    if re.fullmatch(r"[A-Za-z_]\w*=.+", token):
        token = token.split("=", 1)[1]
    if not re.fullmatch(r"[\w.\-/*]+", token) or token in {".", ".."}:
        return None
    if "/" in token or token.endswith(PATH_SUFFIXES):
        return token.rstrip("/")
    return None


def roles(command: Command) -> tuple[list[str], list[str], list[str]]:
    """(inputs, outputs, shared): the paths the command reads, writes, and writes or adds to
    (a graph store that several commands share)."""
    words = command.words
    inputs, outputs, shared, positionals = [], [], [], []
    head = next((words[: len(k)] for k in OUTPUT_POSITIONALS if words[: len(k)] == list(k)), [])
    k = len(head)
    while k < len(words):
        word = words[k]
        if word.startswith("-") and len(word) > 1:
            if word in OUTPUT_OPTIONS and k + 1 < len(words):
                (shared if word in SHARED_OUTPUTS else outputs).append(words[k + 1])
                k += 1
        else:
            positionals.append(word)
            path = path_value(word)
            if path:
                inputs.append(path)
        k += 1
    index = OUTPUT_POSITIONALS.get(tuple(head))
    if index is not None and index < len(positionals):
        output = positionals[index]
        outputs.append(output)
        if path_value(output) in inputs:
            inputs.remove(path_value(output))
    if command.redirect:
        outputs.append(command.redirect)
    if words[:3] == ["prover", "data", "run"] and len(words) > 3:
        recipe = yaml.safe_load((ROOT / words[3]).read_text())  # it names its outputs
        outputs += [recipe["output"]["path"], recipe["workdir"]]
    return inputs, [o.rstrip("/") for o in outputs], [s.rstrip("/") for s in shared]


def ignored_folders() -> set[str]:
    """The top-level folders .gitignore names (runs/, build/...): a fresh clone has none of
    them, whatever this checkout holds."""
    lines = (ROOT / ".gitignore").read_text().splitlines()
    return {s.strip("/") for s in lines if s.endswith("/") and s.count("/") == 1 and "*" not in s}


IGNORED = ignored_folders()


def available(path: str, produced: list[str], folder: bool = False) -> bool:
    """Whether a fresh clone holds `path` once the earlier commands wrote `produced`; with
    `folder`, also when an earlier command wrote something inside it."""
    if path.startswith("/") or ".." in path.split("/"):
        return False  # outside the repository: a fresh clone has only the repository
    if path.split("/")[0] not in IGNORED:
        if any(ch in path for ch in "*?"):
            return bool(list(ROOT.glob(path)))
        if (ROOT / path).exists():
            return True
    inside = any(path == p or path.startswith(p + "/") for p in produced)
    return inside or (folder and any(p.startswith(path + "/") for p in produced))


README_COMMANDS = commands(README.read_text())
CHECKED = [c for c in README_COMMANDS if c.words[0] not in UNCHECKED]


def test_the_readme_has_commands():
    assert len(README_COMMANDS) > 50
    assert any(c.words[:2] == ["python", "-m"] for c in README_COMMANDS)


def test_every_file_named_exists_or_is_written_earlier():
    produced: list[str] = []
    missing = []
    for command in CHECKED:
        inputs, outputs, shared = roles(command)
        missing += [
            f"README line {command.line}: {path} ({' '.join(command.words[:3])} ...)"
            for path in inputs
            if not available(path, produced)
        ]
        if command.redirect:
            parent = str(Path(command.redirect).parent)
            if parent != "." and not available(parent, produced, folder=True):
                missing.append(f"README line {command.line}: no folder for > {command.redirect}")
        produced += outputs + shared
    assert not missing, "\n".join(missing)


def test_no_two_commands_write_the_same_place():
    seen: dict[str, int] = {}
    for command in CHECKED:
        for output in roles(command)[1]:
            assert output not in seen, (
                f"{output} is written at README lines {seen[output]} and {command.line}"
            )
            seen[output] = command.line


def _resolve(words: list[str]) -> tuple[click.Command, list[str], set[str]]:
    """The click command that `prover WORDS...` runs, its remaining words, and the options of
    the groups on the way (`prover data --verbose run`)."""
    cmd, rest, group_options = main, list(words), set()
    while isinstance(cmd, click.Group) and rest:
        while rest and rest[0].startswith("-"):
            group_options.add(rest.pop(0))
        if not rest:
            break
        name = rest.pop(0)
        sub = cmd.get_command(click.Context(cmd), name)
        assert sub is not None, f"no command {name!r} in `prover {' '.join(words)}`"
        cmd = sub
    return cmd, rest, group_options


PROVER_COMMANDS = [c for c in CHECKED if c.words[0] == "prover"]


@pytest.mark.parametrize(
    "command",
    PROVER_COMMANDS,
    ids=[f"line{c.line}-{'-'.join(c.words[1:3])}" for c in PROVER_COMMANDS],
)
def test_every_prover_command_and_option_exists(command):
    cmd, rest, group_options = _resolve(command.words[1:])
    assert not isinstance(cmd, click.Group), f"`{' '.join(command.words)}` names a group"
    known = {opt for p in cmd.params for opt in (*p.opts, *p.secondary_opts)} | {"--help"}
    used = {w.split("=", 1)[0] for w in rest if w.startswith("-") and len(w) > 1}
    assert not used - known, f"README line {command.line}: unknown options {used - known}"
    for option in group_options:
        assert option in {"--verbose", "--help", "-h"}, option


def test_every_top_level_command_is_listed_and_shown():
    listed = re.search(r"Commands: (.*?), each described below", README.read_text(), re.S)
    assert listed, "the README's list of commands is missing"
    names = set(re.findall(r"`(\w+)`", listed.group(1)))
    assert names == set(main.commands), names ^ set(main.commands)
    shown = {c.words[1] for c in PROVER_COMMANDS if len(c.words) > 1}
    assert set(main.commands) <= shown, set(main.commands) - shown


def test_example_recipes_read_shipped_inputs():
    """A corpus recipe the README runs reads a folder that a fresh clone has."""
    for command in CHECKED:
        if command.words[:3] == ["prover", "data", "run"]:
            recipe = yaml.safe_load((ROOT / command.words[3]).read_text())
            assert (ROOT / recipe["input"]["path"]).is_dir(), recipe["input"]["path"]
            for stage in recipe["stages"]:
                for path in (stage.get("decontaminate") or {}).get("benchmarks", []):
                    assert (ROOT / path).exists(), path


def test_the_parser_sees_outputs_and_inputs():
    line = "prover data dedup a/in.jsonl runs/out.jsonl --removed runs/r.jsonl > runs/log.txt"
    [command] = _split(line, 1)
    inputs, outputs, shared = roles(command)
    assert inputs == ["a/in.jsonl"] and shared == []
    assert sorted(outputs) == ["runs/log.txt", "runs/out.jsonl", "runs/r.jsonl"]
    [first, second] = _split("transformers serve runs/tiny --port 8001 & prover grade 1 1", 1)
    assert roles(first) == (["runs/tiny"], [], []) and second.words[:2] == ["prover", "grade"]
    assert path_value("prm:runs/prm/final") == "runs/prm/final"
    assert path_value("math=datasets/examples/seeds.jsonl") == "datasets/examples/seeds.jsonl"
    assert not available("../shared/data/x.jsonl", []) and not available("runs/x", [])
    assert available("runs/x/y", ["runs/x"]) and available("runs", ["runs/x"], folder=True)
    assert path_value("\\frac{1}{2}") is None and path_value("gym:gsm_symbolic:8") is None
