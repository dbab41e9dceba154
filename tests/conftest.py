"""Shared fixtures and helpers: a tiny random Llama with a byte-level BPE tokenizer, built
offline, and the one fake backend the tests drive the loop, scorer, labeller and judges with."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from serve_fixture import transformers_server  # noqa: F401  (session-wide server)

from prover.backends.base import Completion, Prompt, Sampling
from prover.tiny import build_tiny_model


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_model_no_template(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-llama-plain"), chat_template=None)


def weights_changed(before: Path, after: Path) -> bool:
    """Whether any tensor of the safetensors model in `after` differs from `before`'s."""
    import torch
    from safetensors.torch import load_file

    old, new = load_file(before / "model.safetensors"), load_file(after / "model.safetensors")
    return any(not torch.equal(old[k], new[k]) for k in old if k in new)


def logged_losses(output_dir: Path) -> list[float]:
    """The training losses a run logged in OUT/metrics.jsonl (or its last trainer_state)."""
    import json

    metrics = output_dir / "metrics.jsonl"
    if metrics.exists():
        rows = [json.loads(line) for line in metrics.read_text().splitlines()]
    else:
        state = max(
            output_dir.glob("checkpoint-*/trainer_state.json"), key=lambda p: p.stat().st_mtime
        )
        rows = json.loads(state.read_text())["log_history"]
    return [r["loss"] for r in rows if r.get("loss") is not None]


# -- the one fake backend -----------------------------------------------------------------

# What the fake answers sample i of a prompt (given the prompt's text): a text, which gets the
# fake's token counts and finish reason "stop", or a whole `Completion`.
Reply = Callable[[str, int], "str | Completion"]


def prompt_text(prompt: Prompt) -> str:
    """What a prompt says: a raw prompt itself, a chat its last message."""
    return prompt if isinstance(prompt, str) else prompt[-1]["content"]


class Call(NamedTuple):
    """One `generate` call as the fake received it."""

    prompts: list[Prompt]
    n: int
    sampling: Sampling | None

    @property
    def texts(self) -> list[str]:
        return [prompt_text(p) for p in self.prompts]


def keyed(rules: Mapping[str, str | Sequence[str]]) -> Reply:
    """Replies by prompt kind: the texts of the first key the prompt contains ("" matches
    any), sample i getting texts[i % len(texts)]."""

    def reply(prompt: str, i: int) -> str:
        texts = next(texts for key, texts in rules.items() if key in prompt)
        return texts if isinstance(texts, str) else texts[i % len(texts)]

    return reply


def in_order(answers: Iterable[str]) -> Reply:
    """Replies with `answers` one sample after another; asking past the end is an error."""
    queue = list(answers)
    return lambda prompt, i: queue.pop(0)


class FakeBackend:
    """The tests' stand-in for `prover.backends.base.Backend`, answering as scripted.

    `reply` is a `Reply` function, a mapping of prompt kinds (see `keyed`), a list of answers
    in order (see `in_order`) or one text for every sample. Each completion counts `tokens`
    (prompt, completion) unless the reply is a `Completion`. The fake records every call in
    `calls` and reports each prompt's samples through `on_samples` as it finishes them (not
    at all with `report=False`, like a backend that only returns). With `fail_at=(call,
    prompt)` it raises `error` just before answering that prompt of that call (0-based), the
    samples of the prompts before it reported: a kill or a crash mid-stage.
    """

    def __init__(
        self,
        reply: Reply | Mapping[str, str | Sequence[str]] | Iterable[str] | str = (),
        *,
        name: str = "fake",
        tokens: tuple[int, int] = (10, 5),
        report: bool = True,
        fail_at: tuple[int, int] | None = None,
        error: BaseException | None = None,
    ) -> None:
        if isinstance(reply, str):
            reply = keyed({"": reply})
        elif isinstance(reply, Mapping):
            reply = keyed(reply)
        elif not callable(reply):
            reply = in_order(reply)
        self.reply: Reply = reply
        self.name = self.model = name
        self.tokens, self.report = tokens, report
        self.fail_at, self.error = fail_at, error or RuntimeError("backend died")
        self.calls: list[Call] = []

    def generate(self, prompts, n=1, sampling=None, on_samples=None) -> list[list[Completion]]:
        self.calls.append(Call(list(prompts), n, sampling))
        outs = []
        for position, prompt in enumerate(prompts):
            if self.fail_at == (len(self.calls) - 1, position):
                raise self.error
            outs.append([self._complete(prompt_text(prompt), i) for i in range(n)])
            if on_samples and self.report:
                on_samples([(position, c) for c in outs[-1]])
        return outs

    def _complete(self, prompt: str, i: int) -> Completion:
        answer = self.reply(prompt, i)
        return answer if isinstance(answer, Completion) else Completion(answer, *self.tokens)

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """(prompts, n) of each call."""
        return [(len(call.prompts), call.n) for call in self.calls]

    @property
    def batches(self) -> list[list[str]]:
        """The prompt texts of each call."""
        return [call.texts for call in self.calls]

    @property
    def prompts(self) -> list[str]:
        """Every prompt text sent, in order."""
        return [text for call in self.calls for text in call.texts]

    @property
    def seeds(self) -> list[int | None]:
        """The sampling seed of each call."""
        return [call.sampling.seed if call.sampling else None for call in self.calls]


@pytest.fixture
def no_lean(tmp_path, monkeypatch):
    """A PATH and HOME without any Lean toolchain."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("HOME", str(tmp_path))
