"""Template sets by name: the shipped set, and directories under the templates root.

`--templates` takes a directory or the name of a set under the root (`$PROVER_TEMPLATES`,
else `templates/` in the working directory); `shipped` names the project's own templates.
This module does not convert templates (see `prover.prompts.published`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from prover.errors import InputError
from prover.prompts import NAMES, Templates
from prover.prompts.layout import MANIFEST, read_manifest

ROOT_ENV = "PROVER_TEMPLATES"
DEFAULT_ROOT = Path("templates")
SHIPPED = "shipped"
DEFAULT_IMPORT = "deepseek-math-v2"  # the set `prover templates import` writes by default


def templates_root() -> Path:
    return Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


def resolve(value: str | None) -> str | None:
    """The directory `--templates VALUE` means; None for the shipped set. A value that is
    neither a directory nor a set's name is returned as given, for `Templates.load` to
    report."""
    if value is None or value == SHIPPED:
        return None
    if Path(value).is_dir():
        return value
    named = templates_root() / value
    if Path(value).name == value and named.is_dir():
        return str(named)
    return value


@dataclass(frozen=True)
class SetInfo:
    """One line of `prover templates list`."""

    name: str
    digest: str | None  # None when the set cannot be loaded
    description: str
    path: Path | None = None  # None for the shipped set


def is_set(path: Path) -> bool:
    return path.is_dir() and any(
        (path / f).is_file() for f in (MANIFEST, *(f"{n}.txt" for n in NAMES))
    )


def describe(path: Path, name: str | None = None) -> SetInfo:
    """A set's digest and origin; a set that does not load says why instead of a digest."""
    name = name or path.name
    try:
        digest = Templates.load(path).digest()
        manifest = read_manifest(path)
    except InputError as exc:
        return SetInfo(name, None, f"unusable: {exc}", path)
    if manifest is None:
        return SetInfo(name, digest, "custom templates over the shipped ones", path)
    source = manifest.get("imported_from", "?")
    sha = str(manifest.get("sha256", "?"))[:12]
    layout = manifest.get("layout", "project")
    return SetInfo(name, digest, f"imported from {source} (sha256 {sha}…), {layout} layout", path)


def list_sets(extra: Sequence[Path] = ()) -> list[SetInfo]:
    """The shipped set, every set under the templates root, then `extra` directories."""
    sets = [SetInfo(SHIPPED, Templates.load().digest(), "the project's own templates")]
    root = templates_root()
    if root.is_dir():
        sets += [describe(p) for p in sorted(root.iterdir()) if is_set(p)]
    for path in extra:
        if not path.is_dir():
            raise InputError(f"template directory {path} does not exist")
        sets.append(describe(path, str(path)))
    return sets
