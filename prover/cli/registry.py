"""Adding commands that live in their own modules to a click group."""

from __future__ import annotations

import importlib

import click


def add_optional(group: click.Group, module: str, name: str) -> None:
    """Add `module.name` to `group` when the module exists; a missing module (a stage not
    built, or left out of a slim install) is simply not offered, but an import error
    inside an existing module still surfaces."""
    try:
        command = getattr(importlib.import_module(module), name)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return
    group.add_command(command)
