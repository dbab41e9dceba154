"""Training recipes as YAML: a `model` and one section per stage, mapped onto the stage's
frozen recipe dataclass. Unknown keys are one-line errors. This module does not train."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from prover.errors import InputError


def read_recipe(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read recipe {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise InputError(f"{path} is not valid YAML: {str(exc).splitlines()[0]}") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: a recipe is a mapping (model: ..., <stage>: {{...}})")
    return data


def section(recipe: dict[str, Any], name: str, cls: type, where: Path) -> Any:
    """`cls(**recipe[name])`, refusing keys the dataclass does not have."""
    values = recipe.get(name) or {}
    if not isinstance(values, dict):
        raise InputError(f"{where}: `{name}` must be a mapping")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise InputError(
            f"{where}: unknown {name} setting {unknown[0]!r}; known: {', '.join(sorted(known))}"
        )
    if "report_to" in values:
        values = values | {"report_to": tuple(values["report_to"] or ())}
    return cls(**values)
