"""Model backends behind one interface: `hf` (in-process transformers, the default), `vllm`
(in-process vLLM, an extra) and `openai` (any OpenAI-compatible server)."""

from __future__ import annotations

from prover.backends.base import (
    DEFAULT_MODEL,
    Backend,
    Chat,
    Completion,
    OnSamples,
    Prompt,
    Sampling,
    deepseek_math_chat,
    user_chat,
)
from prover.errors import BackendError

BACKENDS = ("hf", "vllm", "openai")

__all__ = [
    "BACKENDS",
    "DEFAULT_MODEL",
    "Backend",
    "Chat",
    "Completion",
    "OnSamples",
    "Prompt",
    "Sampling",
    "deepseek_math_chat",
    "make_backend",
    "user_chat",
]


def make_backend(
    kind: str = "hf",
    model: str = DEFAULT_MODEL,
    base_url: str | None = None,
    **options,
) -> Backend:
    """Build a backend by name. Options are passed to the backend's constructor."""
    if kind == "hf":
        from prover.backends.hf import HFBackend

        return HFBackend(model, **options)
    if kind == "vllm":
        from prover.backends.vllm import VLLMBackend

        return VLLMBackend(model, **options)
    if kind == "openai":
        from prover.backends.openai import OpenAIBackend

        if not base_url:
            raise BackendError(
                "the openai backend needs --base-url (e.g. http://127.0.0.1:8000/v1)"
            )
        return OpenAIBackend(model, base_url=base_url, **options)
    raise BackendError(f"unknown backend {kind!r}; choose one of {', '.join(BACKENDS)}")
