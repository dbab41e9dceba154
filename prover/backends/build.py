"""The generator and verifier backends of a command, built from one `BackendConfig`.

`BackendConfig` holds the model options every model-running command shares (`--model`,
`--backend`, `--device`, ..., and `--verifier-model` / `--verifier-base-url` where a command
verifies). `build_backends` loads a model once when the generator also verifies (the
DeepSeekMath-V2 default). This module does not parse command lines (`prover.cli.options`
defines the options) or choose sampling settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from prover.backends import DEFAULT_MODEL, Backend, make_backend


@dataclass(frozen=True)
class BackendConfig:
    """Which model to run, where and how; a separate verifier where one is named."""

    model: str = DEFAULT_MODEL
    backend: str = "hf"  # hf, vllm or openai
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    device: str = "auto"  # hf only
    dtype: str = "auto"  # hf and vllm
    batch_size: int = 16  # hf only
    gpu_memory: float = 0.9  # vllm: the GPU memory share of all in-process engines together
    tensor_parallel_size: int = 1  # vllm only
    verifier_model: str | None = None  # None: the generator verifies
    verifier_base_url: str | None = None

    def verifier_spec(self) -> tuple[str, str, str | None] | None:
        """(backend, model, base_url) of a separate verifier, or None to verify with the
        generator itself (the DeepSeekMath-V2 default)."""
        model = self.verifier_model or self.model
        if self.verifier_base_url:
            return "openai", model, self.verifier_base_url
        if model != self.model:
            return self.backend, model, self.base_url
        return None

    def vllm_engines(self) -> int:
        """How many in-process vLLM engines the command builds: two when a separate verifier
        model runs in-process beside the generator (they share the GPU memory share)."""
        spec = self.verifier_spec()
        return 2 if self.backend == "vllm" and spec is not None and spec[0] == "vllm" else 1


def quiet_transformers() -> None:
    """Weight-loading bars would interleave with our progress on stderr."""
    from transformers.utils import logging

    logging.set_verbosity_error()
    logging.disable_progress_bar()


def build_backends(config: BackendConfig) -> tuple[Backend, Backend]:
    """(generator, verifier), loading a model once when both are the same."""
    generator = build_generator(config)
    spec = config.verifier_spec()
    return generator, (generator if spec is None else _backend(*spec, config))


def build_generator(config: BackendConfig) -> Backend:
    """Only the generator, for commands that do not verify proofs."""
    quiet_transformers()
    return _backend(config.backend, config.model, config.base_url, config)


def build_verifier(config: BackendConfig) -> Backend:
    """Only the verifier, for commands that do not generate proofs."""
    quiet_transformers()
    spec = config.verifier_spec() or (config.backend, config.model, config.base_url)
    return _backend(*spec, config)


def _backend(kind: str, model: str, base_url: str | None, config: BackendConfig) -> Backend:
    if kind == "hf":
        return make_backend(
            "hf", model, device=config.device, dtype=config.dtype, batch_size=config.batch_size
        )
    if kind == "openai":
        return make_backend("openai", model, base_url=base_url, api_key_env=config.api_key_env)
    return make_backend(
        kind,
        model,
        dtype=config.dtype,
        gpu_memory_utilization=config.gpu_memory / config.vllm_engines(),
        tensor_parallel_size=config.tensor_parallel_size,
    )
