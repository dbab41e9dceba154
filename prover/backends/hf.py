"""In-process transformers backend: left-padded batched `generate` on CPU or GPU.

Before loading, the model is found (`hub.resolve_model`: a local folder, the cache, or a
reachable hub) and its dtype chosen to fit the free memory (`memory.load_dtype`).

Prompts are expanded n times, sorted by length and cut into micro-batches of `batch_size`
sequences, so one call serves a whole loop stage. It does not do continuous batching or
prefix caching (use the `vllm` backend for throughput on GPUs).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from pathlib import Path

from prover.backends.base import Completion, OnSamples, Prompt, Sampling, encode_prompt
from prover.errors import BackendError


def load_error_message(model: str, exc: Exception) -> str:
    """One line that says why a model could not be loaded and how to fix it."""
    import os

    first = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
    if Path(model).exists():
        return f"{model} is not a loadable transformers model directory: {first}"
    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    hint = (
        f"download it first (hf download {model}) or pass --model LOCAL_DIR"
        if offline
        else "check the hub id or pass --model LOCAL_DIR"
    )
    if "/" not in model:  # a bare name: maybe a mistyped built-in one
        from prover.models import names

        hint += f", or a built-in model ({', '.join(names())})"
    where = "not found in the local cache (HF_HUB_OFFLINE=1)" if offline else "could not be loaded"
    return f"model {model!r} {where}: {first}; {hint}"


class HFBackend:
    """transformers `AutoModelForCausalLM` + tokenizer held in this process."""

    name = "hf"

    def __init__(
        self,
        model: str,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 16,
        trust_remote_code: bool = False,
    ):
        self.model = model
        self.batch_size = batch_size
        self._load(model, device, dtype, trust_remote_code)

    @classmethod
    def from_loaded(cls, lm, tokenizer, batch_size: int = 16) -> HFBackend:
        """A backend over a model already in memory (e.g. the policy inside a trainer), so
        evaluation during training samples exactly as `prover eval` does, without a reload.
        The tokenizer is copied: generation needs left padding, training may not."""
        import copy

        backend = cls.__new__(cls)
        backend.model, backend.batch_size, backend.lm = lm.name_or_path, batch_size, lm
        backend.device = str(next(lm.parameters()).device)
        backend.dtype = str(next(lm.parameters()).dtype).removeprefix("torch.")
        backend.tokenizer = copy.copy(tokenizer)
        backend.tokenizer.padding_side = "left"
        if backend.tokenizer.pad_token_id is None:
            backend.tokenizer.pad_token = backend.tokenizer.eos_token
        backend.context = backend._context_length()
        return backend

    def _load(self, model: str, device: str, dtype: str, trust_remote_code: bool) -> None:
        import torch
        from safetensors import SafetensorError
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from prover.backends.hub import resolve_model
        from prover.backends.memory import load_dtype

        if device == "auto":
            device = auto_device(torch.cuda.is_available())
        self.device = device
        model = resolve_model(model)  # a missing folder or an unreachable hub: seconds, one line
        self.dtype = dtype = load_dtype(model, device, dtype, trust_remote_code)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(
                model, trust_remote_code=trust_remote_code
            )
            self.lm = AutoModelForCausalLM.from_pretrained(
                model, dtype=getattr(torch, dtype), trust_remote_code=trust_remote_code
            )
        except (OSError, ValueError, SafetensorError) as exc:
            raise BackendError(load_error_message(model, exc)) from exc
        try:
            self.lm.to(self.device).eval()
        except (RuntimeError, AssertionError) as exc:  # torch's "not compiled with CUDA"
            raise BackendError(f"cannot run the model on device {device!r}: {exc}") from exc
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.context = self._context_length()

    def _context_length(self) -> int:
        config_len = getattr(self.lm.config, "max_position_embeddings", None) or 4096
        tok_len = getattr(self.tokenizer, "model_max_length", None) or config_len
        return min(config_len, tok_len) if tok_len < 10**9 else config_len

    def encode(self, prompt: Prompt) -> list[int]:
        return encode_prompt(self.tokenizer, prompt)

    def generate(
        self,
        prompts: Sequence[Prompt],
        n: int = 1,
        sampling: Sampling | None = None,
        on_samples: OnSamples | None = None,
    ) -> list[list[Completion]]:
        import torch

        sampling = sampling or Sampling()
        if sampling.seed is not None:
            torch.manual_seed(sampling.seed)
        encoded = [self.encode(p) for p in prompts]
        results: list[list[Completion]] = [[] for _ in prompts]
        # One job per sample; sorting by length keeps padding (and wasted compute) small.
        jobs = [(i, ids) for i, ids in enumerate(encoded) for _ in range(n)]
        fits = [(i, ids) for i, ids in jobs if len(ids) < self.context]
        too_long = [
            (i, Completion("", len(ids), 0, "prompt_too_long"))
            for i, ids in jobs
            if len(ids) >= self.context
        ]
        fits.sort(key=lambda job: len(job[1]))
        batches = [fits[k : k + self.batch_size] for k in range(0, len(fits), self.batch_size)]
        # A generator, so each micro-batch is reported as soon as it is done.
        finished_batches = itertools.chain(
            [too_long], (self._run_batch(b, sampling) for b in batches)
        )
        for finished in finished_batches:
            for i, completion in finished:
                results[i].append(completion)
            if on_samples and finished:
                on_samples(finished)
        return results

    def _run_batch(self, batch, sampling: Sampling) -> list[tuple[int, Completion]]:
        done = self._generate_batch(batch, sampling)
        return [(i, c) for (i, _), c in zip(batch, done, strict=True)]

    def _generate_batch(
        self, batch: list[tuple[int, list[int]]], sampling: Sampling
    ) -> list[Completion]:
        import torch

        width = max(len(ids) for _, ids in batch)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(ids)) + ids for _, ids in batch])
        mask = torch.tensor([[0] * (width - len(ids)) + [1] * len(ids) for _, ids in batch])
        max_new = max(1, min(sampling.max_tokens, self.context - width))
        with torch.inference_mode():
            out = self.lm.generate(
                input_ids=input_ids.to(self.device),
                attention_mask=mask.to(self.device),
                max_new_tokens=max_new,
                pad_token_id=pad,
                **self._sampling_kwargs(sampling),
            )
        new = out[:, width:].tolist()  # (B, <= max_new) generated ids, eos/pad after the end
        pairs = zip(batch, new, strict=True)
        return [self._completion(ids, len(p), sampling) for (_, p), ids in pairs]

    def _sampling_kwargs(self, sampling: Sampling) -> dict:
        kwargs: dict = {"do_sample": sampling.temperature > 0}
        if sampling.temperature > 0:
            kwargs.update(temperature=sampling.temperature, top_p=sampling.top_p, top_k=0)
        if sampling.stop:
            kwargs.update(stop_strings=list(sampling.stop), tokenizer=self.tokenizer)
        return kwargs

    def _completion(self, ids: list[int], prompt_len: int, sampling: Sampling) -> Completion:
        eos = self.lm.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}
        end = next((k for k, t in enumerate(ids) if t in eos_ids), None)
        kept = ids if end is None else ids[:end]
        text = self.tokenizer.decode(kept, skip_special_tokens=True)
        finish = "stop" if end is not None else "length"
        for stop in sampling.stop:
            if stop in text:
                text, finish = text[: text.index(stop)], "stop"
        return Completion(text, prompt_len, len(kept) + (end is not None), finish)


def auto_device(cuda: bool) -> str:
    """`cuda:LOCAL_RANK` under a launcher (each rank its own GPU, not all on GPU 0), `cuda`
    alone otherwise, `cpu` without CUDA."""
    if not cuda:
        return "cpu"
    rank = os.environ.get("LOCAL_RANK")
    return f"cuda:{rank}" if rank is not None else "cuda"
