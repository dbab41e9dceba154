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
    defaults = {f.name: f.default for f in fields(cls)}
    return cls(**{k: _number(v, defaults[k], f"{where}: {name}.{k}") for k, v in values.items()})


def _number(value: Any, default: Any, where: str) -> Any:
    """`value` as the number or flag its field holds. PyYAML reads `5e-5` (no dot) as a string,
    so a numeric string becomes a float or an int; anything else that is not a number is one
    line, and so is a flag that is not true or false (`quote_check: maybe` would be truthy)."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise InputError(f"{where} must be true or false, not {value!r}")
        return value
    if not isinstance(default, int | float):
        return value
    if isinstance(value, str):
        try:
            value = float(value) if isinstance(default, float) else int(value)
        except ValueError:
            raise InputError(f"{where} must be a number, not {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{where} must be a number, not {value!r}")
    return float(value) if isinstance(default, float) else value
