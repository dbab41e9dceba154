"""Import DeepSeekMath-V2's prompt templates from the user's copy of its repository.

`inference/math_templates.py` holds a dict `math_templates` of `str.format` templates (string
literals, some with `.strip()`). The file is parsed with `ast`, never imported or run. Each
template's fields are mapped to the project's, its `{{`/`}}` escapes become literal braces,
and every converted template is checked to render byte for byte what `str.format` gives for
the same values. The project ships none of the published text. This module does not call
models or decide where template sets live (see `prover.prompts.sets`).
"""

from __future__ import annotations

import ast
import hashlib
import json
import string
from dataclasses import dataclass
from pathlib import Path

from prover.errors import InputError
from prover.prompts import NAMES, PLACEHOLDER, render
from prover.prompts.layout import MANIFEST, PUBLISHED

VARIABLE = "math_templates"
SOURCE = Path("inference") / "math_templates.py"

# Published field -> project field, per template (main.py's `.format` keywords).
FIELD_MAP = {
    "proof_generation": {"question": "problem"},
    "proof_verification": {"statement": "problem", "proof": "proof"},
    "meta_verification": {"statement": "problem", "proof": "proof", "rating": "analysis"},
    "proof_refinement": {"instruction": "instruction", "proofs_to_refine": "attempts"},
}
STRIPS = ("strip", "lstrip", "rstrip")


@dataclass(frozen=True)
class Imported:
    """A converted template set, ready to write: project-syntax texts and their source."""

    source: Path
    sha256: str
    texts: dict[str, str]

    def manifest(self) -> dict:
        return {
            "imported_from": str(self.source),
            "sha256": self.sha256,
            "variable": VARIABLE,
            "layout": PUBLISHED,
            "fields": FIELD_MAP,
        }


def source_file(path: Path) -> Path:
    """The templates file itself, or `inference/math_templates.py` in a repository copy."""
    if path.is_dir():
        for candidate in (path / SOURCE, path / SOURCE.name):
            if candidate.is_file():
                return candidate
        raise InputError(f"{path} holds no {SOURCE.as_posix()}")
    if not path.is_file():
        raise InputError(f"{path} does not exist")
    return path


def import_published(path: Path) -> Imported:
    """Read, convert and check every template; nothing is written."""
    source = source_file(path)
    try:
        data = source.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {source}: {exc.strerror}") from exc
    published = read_templates(source, data)
    texts = {name: convert(name, published[name], source) for name in NAMES}
    return Imported(source.resolve(), hashlib.sha256(data).hexdigest(), texts)


def read_templates(source: Path, data: bytes) -> dict[str, str]:
    """{template name: published text} from the `math_templates` dict literal."""
    try:
        tree = ast.parse(data, filename=str(source))
    except (SyntaxError, ValueError) as exc:
        where = f" (line {exc.lineno})" if getattr(exc, "lineno", None) else ""
        reason = getattr(exc, "msg", None) or str(exc)
        raise InputError(f"{source} is not a Python file: {reason}{where}") from None
    table = _templates_dict(tree, source)
    found: dict[str, ast.expr] = {}
    for key, value in zip(table.keys, table.values, strict=True):
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            found[key.value] = value
    texts = {}
    for name in NAMES:
        if name not in found:
            raise InputError(f"{source}: {VARIABLE} has no template {name!r}")
        text = _literal(found[name])
        if text is None:
            line = found[name].lineno
            raise InputError(f"{source}: template {name} (line {line}) is not a string literal")
        texts[name] = text
    return texts


def _templates_dict(tree: ast.Module, source: Path) -> ast.Dict:
    """The last top-level `math_templates = {...}` (the value Python would keep)."""
    value = None
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names = [node.target.id] if node.value is not None else []
        else:
            continue
        if VARIABLE in names:
            value = node.value
    if not isinstance(value, ast.Dict):
        raise InputError(f"{source} defines no `{VARIABLE} = {{...}}` dict")
    return value


def _literal(node: ast.expr) -> str | None:
    """A string literal, `.strip()`-like calls on one, or `+` of such; else None."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left), _literal(node.right)
        return None if left is None or right is None else left + right
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in STRIPS
        and not node.keywords
        and len(node.args) <= 1
    ):
        inner = _literal(node.func.value)
        chars = [_literal(a) for a in node.args]
        if inner is None or None in chars:
            return None
        return getattr(inner, node.func.attr)(*chars)
    return None


def convert(name: str, text: str, source: Path | str = "") -> str:
    """A published `str.format` template in the project's `{{field}}` syntax."""
    where = f"{source}: template {name}"
    mapping = FIELD_MAP[name]
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None
    out = []
    for literal, field, spec, conversion in parts:
        out.append(literal)
        if field is None:
            continue
        if field not in mapping:
            allowed = ", ".join("{" + f + "}" for f in mapping)
            raise InputError(f"{where}: unknown field {{{field}}}; it may use {allowed}")
        if spec or conversion:
            raise InputError(f"{where}: field {{{field}}} has a format spec or conversion")
        out.append("{{" + mapping[field] + "}}")
    converted = "".join(out)
    _check_exact(where, mapping, text, converted)
    return converted


def _check_exact(where: str, mapping: dict[str, str], text: str, converted: str) -> None:
    """The converted template must render what `str.format` renders, byte for byte."""
    stray = sorted(set(PLACEHOLDER.findall(converted)) - set(mapping.values()))
    if stray:
        raise InputError(f"{where}: its text {{{{{stray[0]}}}}} would read as a field")
    values = {field: f"\x00{field}\x00" for field in mapping.values()}
    expected = text.format(**{pub: values[ours] for pub, ours in mapping.items()})
    if "\r" in converted:
        raise InputError(f"{where}: a carriage return cannot be kept in a template file")
    if render(converted, **values) != expected:
        raise InputError(f"{where}: cannot be converted exactly")


def write_set(imported: Imported, out: Path, force: bool = False) -> None:
    """Write the four templates and `manifest.json` into `out`."""
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} is a file")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise InputError(f"{out} is not empty; pass --force to replace the templates there")
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in imported.texts.items():
            with open(out / f"{name}.txt", "w", encoding="utf-8", newline="") as fh:
                fh.write(text)
        manifest = json.dumps(imported.manifest(), indent=2, ensure_ascii=False) + "\n"
        (out / MANIFEST).write_text(manifest, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write templates to {out}: {exc.strerror}") from exc
