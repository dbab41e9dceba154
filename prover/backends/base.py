"""The one backend interface: batched generation of n samples per prompt.

Every stage of the loop sends all of its prompts in one `generate` call, so a backend is free
to batch, cache prefixes or fan out requests as it likes. This module does not load models.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

Message = dict[str, str]  # {"role": "user", "content": "..."}
Chat = list[Message]
Prompt = str | Chat  # a raw text prompt, or a chat rendered by the backend's template

DEFAULT_MODEL = "deepseek-ai/deepseek-math-7b-rl"


@dataclass(frozen=True)
class Sampling:
    """Sampling settings shared by all backends (vLLM / OpenAI names)."""

    temperature: float = 1.0
    top_p: float = 0.95
    max_tokens: int = 2048
    seed: int | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Completion:
    """One sampled continuation with its token accounting."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    # "stop" (end of sequence or a stop string), "length" (max_tokens or the context end), or
    # "prompt_too_long" (the prompt alone does not fit the context; no text, nothing computed)
    finish_reason: str = "stop"
    extra: dict = field(default_factory=dict, compare=False)


# Called as samples finish, with (prompt position, completion) pairs, so that callers can
# save work incrementally. A backend reports every sample exactly once, or never calls it.
OnSamples = Callable[[list[tuple[int, "Completion"]]], None]


@runtime_checkable
class Backend(Protocol):
    """Anything that turns B prompts into B lists of n completions."""

    name: str
    model: str

    def generate(
        self,
        prompts: Sequence[Prompt],
        n: int = 1,
        sampling: Sampling | None = None,
        on_samples: OnSamples | None = None,
    ) -> list[list[Completion]]: ...


def deepseek_math_chat(chat: Chat) -> str:
    """DeepSeekMath-Instruct/RL format, used when a tokenizer has no chat template."""
    parts = []
    for message in chat:
        if message["role"] == "system":
            parts.append(f"{message['content']}\n\n")
        elif message["role"] == "user":
            parts.append(f"User: {message['content']}\n\n")
        else:
            parts.append(f"Assistant: {message['content']}")
    return "".join(parts) + "Assistant:"


def encode_prompt(tokenizer, prompt: Prompt) -> list[int]:
    """Token ids of a prompt: a chat goes through the tokenizer's chat template (which places
    BOS itself) or, without one, the DeepSeekMath format; raw text gets BOS added."""
    if isinstance(prompt, str):
        return tokenizer(prompt, add_special_tokens=True)["input_ids"]
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(prompt, tokenize=False, add_generation_prompt=True)
        return tokenizer(text, add_special_tokens=False)["input_ids"]
    return tokenizer(deepseek_math_chat(prompt), add_special_tokens=True)["input_ids"]


def user_chat(content: str) -> Chat:
    """A one-turn chat: how every loop prompt is sent."""
    return [{"role": "user", "content": content}]
