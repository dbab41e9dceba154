"""Back-of-the-envelope GPU memory per rank for the shipped 7B recipes (estimates, not measured).

How it is computed (mixed-precision AdamW, the usual accounting), per rank:
- trainable parameters cost 16 bytes each: weights (4, fp32 as TRL/transformers load them by
  default; bf16 is autocast), gradients (4) and Adam m and v (8); frozen parameters (LoRA's
  base) cost 2 bytes (bf16); ZeRO-3 / FSDP full sharding divides both by the ranks;
- a frozen reference model for the KL term (GRPO with beta > 0, full fine-tuning) costs 2
  bytes per parameter, sharded the same way; with LoRA the reference is the base with the
  adapters switched off, so it costs nothing extra;
- activation checkpoints keep one bf16 hidden state per layer and token:
  layers x hidden x 2 bytes x tokens;
- the one layer recomputed in the backward keeps about (10 h + 4 I) x 2 bytes per token (the
  bf16 tensors a LLaMA layer holds with fused attention, which stores no seq x seq scores);
- the logits of a micro-batch: vocab x 10 bytes per token (bf16 logits, their fp32 copy for
  the loss and the fp32 log-softmax kept for the backward): the largest single term for a
  100K vocabulary;
- colocated vLLM takes `vllm_fraction` of the GPU (TRL's `vllm_gpu_memory_utilization`).
Not counted: CUDA context and allocator fragmentation (add ~10%), communication buffers.

This module does NOT measure anything or look at a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = 1024**3


@dataclass(frozen=True)
class ModelShape:
    """A LLaMA-style decoder; the defaults are deepseek-math-7b (= deepseek-coder-7b-v1.5)."""

    layers: int = 30
    hidden: int = 4096
    intermediate: int = 11008
    vocab: int = 102_400

    @property
    def params(self) -> int:
        """Attention 4 h^2 and MLP 3 h I per layer, two norms, untied embeddings and head."""
        attention, mlp = 4 * self.hidden**2, 3 * self.hidden * self.intermediate
        per_layer = attention + mlp + 2 * self.hidden
        return self.layers * per_layer + 2 * self.vocab * self.hidden + self.hidden


DEEPSEEK_MATH_7B = ModelShape()  # 6,910,365,696 parameters


@dataclass(frozen=True)
class RunShape:
    """How a recipe runs: tokens per micro-batch on one rank, ranks, and what is trained."""

    micro_batch: int
    seq_len: int
    ranks: int = 1
    sharded: bool = True  # ZeRO-3 / FSDP full shard
    trainable: float | None = None  # None: every parameter (full fine-tuning)
    reference_model: bool = False
    vllm_fraction: float = 0.0
    gpu_gib: float = 80.0
    output_width: int | None = None  # a reward model's head (1 or 2) instead of the vocabulary


def estimate(model: ModelShape, run: RunShape) -> dict[str, float]:
    """GiB per rank, by part, and the total (rounded to 0.1)."""
    params = model.params
    if run.output_width is not None:  # a reward model: its head replaces the LM head
        params += (run.output_width - model.vocab) * model.hidden
    trainable = params if run.trainable is None else run.trainable
    frozen = params - trainable
    shard = run.ranks if run.sharded else 1
    tokens = run.micro_batch * run.seq_len
    width = model.vocab if run.output_width is None else run.output_width
    parts = {
        "weights+grads+optimizer": (16 * trainable + 2 * frozen) / shard,
        "reference model": 2 * params / shard if run.reference_model else 0.0,
        "activation checkpoints": model.layers * model.hidden * 2 * tokens,
        "recomputed layer": (10 * model.hidden + 4 * model.intermediate) * 2 * tokens,
        "logits": width * 10 * tokens,
        "vLLM (colocated)": run.vllm_fraction * run.gpu_gib * GIB,
    }
    out = {name: round(value / GIB, 1) for name, value in parts.items()}
    out["total"] = round(sum(parts.values()) / GIB, 1)
    return out


def table(model: ModelShape, run: RunShape) -> str:
    """The estimate as aligned lines, for recipe comments."""
    return "\n".join(f"{name:>26}: {gib:6.1f} GiB" for name, gib in estimate(model, run).items())
