"""Where a `--model` comes from, found before any weights load: a built-in name
(`prover.models`), a local folder, the hub cache, or the model hub.

`resolve_model` answers in seconds (but for a built-in model's one-time conversion). A name
that is not a hub id (`./no-such-folder`) is a missing folder. A bare name (no `/`) that is
neither built in nor cached, with the hub off, is an unknown name: one line listing the
built-in names. A hub id is looked up in the local cache. When it is not cached, the hub is
probed once per process: one HEAD request bounded by `PROBE_SECONDS`, name resolution
included. An unreachable hub is one line naming the ways forward, instead of about a minute of
huggingface_hub's "Retrying in 8s". A cached model with an unreachable hub switches this
process (and its children) to offline mode, so later loads read the cache without retries.

This module does NOT download anything, does not check that a hub id exists on a reachable
hub (loading reports that), and does not look at weights (`prover.backends.memory` estimates
their size).
"""

from __future__ import annotations

import functools
import os
import threading
from pathlib import Path

from prover.errors import BackendError, InputError

PROBE_SECONDS = 3.0
TINY_MODEL_HINT = "build a tiny test model in one (python -m prover.tiny DIR)"


def resolve_model(model: str, option: str = "--model") -> str:
    """The name to load `model` by (a built-in model's folder, a folder, or a hub id that is
    cached or reachable), or a one-line error: `InputError` for a missing folder or an unknown
    bare name, `BackendError` for an unreachable hub. `option` is how the user names the model
    (`--model`, or a recipe's `model:`). A built-in name (`prover.models`) wins over a folder
    of the same name; its first use may convert and cache it."""
    from prover.models import builtin_folder, is_builtin, unknown_message

    if is_builtin(model):
        return str(builtin_folder(model))
    path = Path(model).expanduser()
    if path.exists():
        return str(path)  # the loader says when it is not a model
    if not is_hub_id(model):
        raise InputError(f"{option} {model}: no such folder")
    if is_cached(model):
        if not offline_mode() and not hub_reachable():
            go_offline()
        return model
    offline = offline_mode()
    if offline or not hub_reachable():
        if "/" not in model:  # `smolm2`: a typo of a built-in name more likely than a hub id
            raise InputError(unknown_message(model, option))
        why = (
            "HF_HUB_OFFLINE is set"
            if offline
            else f"the model hub ({endpoint()}) cannot be reached"
        )
        raise BackendError(unavailable_message(model, why, option))
    return model


def unavailable_message(model: str, why: str, option: str = "--model") -> str:
    """One line with the three ways forward."""
    return (
        f"model {model!r} is not in the local cache and {why}: download it where there is a "
        f"network (hf download {model}), use a local folder ({option} DIR), or {TINY_MODEL_HINT}"
    )


def is_hub_id(name: str) -> bool:
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True


def is_cached(model: str) -> bool:
    """Whether the hub cache holds the model's config (its weights may still be missing)."""
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(model, "config.json"), str)


def endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def offline_mode() -> bool:
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def go_offline() -> None:
    """Offline mode for the rest of this process (huggingface_hub reads its flag at import,
    transformers asks it at each call) and for the processes it starts."""
    from huggingface_hub import constants

    constants.HF_HUB_OFFLINE = True
    os.environ["HF_HUB_OFFLINE"] = "1"


@functools.lru_cache(maxsize=1)
def hub_reachable() -> bool:
    """Whether the hub answers one HEAD request (any status) within `PROBE_SECONDS`. The
    request runs in a daemon thread because name resolution ignores socket timeouts."""
    answered: list[bool] = []

    def probe() -> None:
        import httpx

        try:
            httpx.head(endpoint(), timeout=PROBE_SECONDS)
        except (httpx.HTTPError, OSError):
            return
        answered.append(True)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(PROBE_SECONDS + 0.5)
    return bool(answered)
