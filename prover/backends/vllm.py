"""In-process vLLM backend: one `LLM.generate` call per stage, n samples per prompt via
`SamplingParams(n=...)`, with prefix caching on (the V verifications of a proof share its
long prompt).

Prompts are tokenized here (chat template, or the DeepSeekMath format without one) so that a
prompt longer than the context becomes a `prompt_too_long` completion instead of failing the
whole batch. It does not manage servers or multiple nodes (use `vllm serve` with the `openai`
backend for that). Needs the `vllm` extra and a GPU.
"""

from __future__ import annotations

from collections.abc import Sequence

from prover.backends.base import Completion, OnSamples, Prompt, Sampling, encode_prompt
from prover.errors import BackendError, require


class VLLMBackend:
    name = "vllm"

    def __init__(
        self,
        model: str,
        tensor_parallel_size: int = 1,
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        dtype: str = "auto",
        seed: int = 0,
    ):
        from prover.backends.hub import resolve_model

        vllm = require("vllm", "vllm")
        model = resolve_model(model)  # a missing folder or an unreachable hub: one line
        self.model = model
        self._vllm = vllm
        try:
            self.llm = vllm.LLM(
                model=model,
                enable_prefix_caching=True,
                tensor_parallel_size=tensor_parallel_size,
                gpu_memory_utilization=gpu_memory_utilization,
                max_model_len=max_model_len,
                dtype=dtype,
                seed=seed,
            )
        except (OSError, ValueError, RuntimeError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise BackendError(f"vLLM could not load {model!r}: {first}") from exc
        self.tokenizer = self.llm.get_tokenizer()
        self.context = self.llm.llm_engine.model_config.max_model_len

    def sampling_params(self, n: int, sampling: Sampling, position: int = 0):
        """One request's parameters. Greedy asks for one sample (vLLM refuses n > 1 at
        temperature 0; `generate` copies it n times, as the hf backend returns n identical
        samples). The seed is per request (`request_seed`): vLLM seeds a request's noise by
        (seed, token position), so one seed shared by k copies of a prompt gives k identical
        samples."""
        greedy = sampling.temperature == 0
        return self._vllm.SamplingParams(
            n=1 if greedy else n,
            temperature=sampling.temperature,
            top_p=1.0 if greedy else sampling.top_p,
            max_tokens=sampling.max_tokens,
            seed=request_seed(sampling.seed, position),
            stop=list(sampling.stop) or None,
        )

    def generate(
        self,
        prompts: Sequence[Prompt],
        n: int = 1,
        sampling: Sampling | None = None,
        on_samples: OnSamples | None = None,
    ) -> list[list[Completion]]:
        """One blocking `LLM.generate`; samples are reported to `on_samples` when it returns."""
        sampling = sampling or Sampling()
        encoded = [encode_prompt(self.tokenizer, p) for p in prompts]
        fits = [i for i, ids in enumerate(encoded) if len(ids) < self.context]
        results = [[Completion("", len(ids), 0, "prompt_too_long")] * n for ids in encoded]
        if fits:
            inputs = [{"prompt_token_ids": encoded[i]} for i in fits]
            params = [self.sampling_params(n, sampling, i) for i in fits]
            outputs = self.llm.generate(inputs, params, use_tqdm=False)
            for i, output in zip(fits, outputs, strict=True):
                done = [self._completion(len(encoded[i]), o) for o in output.outputs]
                results[i] = done * n if sampling.temperature == 0 else done
        if on_samples:
            on_samples([(i, c) for i, cs in enumerate(results) for c in cs])
        return results

    @staticmethod
    def _completion(prompt_tokens: int, output) -> Completion:
        # vLLM reports "stop" (EOS or stop string), "length", "abort" or "error": kept as they
        # are, so an aborted or failed request is not recorded as a truncated one.
        finish = output.finish_reason or "stop"
        return Completion(output.text, prompt_tokens, len(output.token_ids), finish)


def request_seed(seed: int | None, position: int) -> int | None:
    """The seed of the request at `position` of a call: distinct per request, reproducible
    from the run's seed (None leaves vLLM's own randomness)."""
    if seed is None:
        return None
    return (seed * 1_000_003 + position) % 2**31
