"""Back-of-the-envelope GPU memory per rank for the shipped 7B recipes (estimates, not measured).

How it is computed (mixed-precision AdamW, the usual accounting):
- trainable parameters cost 16 bytes each: bf16 weights (2) + bf16 grads (2) + fp32 master
  weights (4) + Adam m and v (8); frozen parameters cost 2 bytes (bf16); ZeRO-3 / FSDP full
  sharding divides both by the number of ranks;
- a frozen reference model for the KL term (GRPO with beta > 0, full fine-tuning) costs 2
  bytes per parameter, sharded the same way; with LoRA the reference is the base with the
  adapters switched off, so it costs nothing extra;
- activations with checkpointing keep one hidden state per layer per token in bf16:
  layers x hidden x 2 bytes x tokens; the logits of one micro-batch in fp32 add
  vocab x 4 bytes x tokens (the largest single tensor for a 100K vocabulary);
- colocated vLLM takes `vllm_fraction` of the GPU (TRL's `vllm_gpu_memory_utilization`).
Not counted: CUDA context and allocator fragmentation (add ~10%), communication buffers.

This module does NOT measure anything or look at a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass

GIB = 1024**3


@dataclass(frozen=True)
class ModelShape:
    """The sizes that matter for memory."""

    params: float
    layers: int
    hidden: int
    vocab: int


# deepseek-math-7b-*: 6.91B parameters, 30 layers, hidden 4096, vocabulary 102,400.
DEEPSEEK_MATH_7B = ModelShape(6.91e9, 30, 4096, 102_400)


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


def estimate(model: ModelShape, run: RunShape) -> dict[str, float]:
    """GiB per rank, by part, and the total."""
    trainable = model.params if run.trainable is None else run.trainable
    frozen = model.params - trainable if run.trainable is not None else 0.0
    shard = run.ranks if run.sharded else 1
    tokens = run.micro_batch * run.seq_len
    parts = {
        "weights+grads+optimizer": (16 * trainable + 2 * frozen) / shard,
        "reference model": 2 * model.params / shard if run.reference_model else 0.0,
        "activations (checkpointed)": model.layers * model.hidden * 2 * tokens,
        "logits (fp32)": model.vocab * 4 * tokens,
        "vLLM (colocated)": run.vllm_fraction * run.gpu_gib * GIB,
    }
    out = {name: round(value / GIB, 1) for name, value in parts.items()}
    out["total"] = round(sum(parts.values()) / GIB, 1)
    return out


def table(model: ModelShape, run: RunShape) -> str:
    """The estimate as aligned lines, for recipe comments and `--help`."""
    return "\n".join(f"{name:>28}: {gib:6.1f} GiB" for name, gib in estimate(model, run).items())
