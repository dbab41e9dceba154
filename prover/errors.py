"""User-facing errors: one line, no traceback, a non-zero exit.

The CLI turns these into `click.ClickException`s; library callers can catch them by type.
"""

from __future__ import annotations


class ProverError(Exception):
    """A failure the user can fix (bad input, missing model, unreachable server)."""

    exit_code = 1


class InputError(ProverError):
    """The input file or its content is unusable (exit code 2, like a usage error)."""

    exit_code = 2


class BackendError(ProverError):
    """A backend could not be built or could not answer."""


class MissingExtraError(ProverError):
    """An optional dependency is not installed; the message names the extra to install."""


def require(module: str, extra: str):
    """Import an optional dependency lazily, or fail with an install hint."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"{module} is not installed; install it with: pip install 'prover[{extra}]'"
        ) from exc
