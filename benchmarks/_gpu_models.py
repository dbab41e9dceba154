"""Random-weight LLaMA models of a given shape for `gpu_check.py`, built with no download.

The DeepSeekMath 7B architecture is written here (its hub config cannot be reached from the
GPU machine); a 1.2B shape of the same family and tiny CPU shapes sit beside it. The weights
are random: these models measure speed and memory, and write nonsense. Their tokenizer is the
project's tiny byte-level BPE (`prover.tiny`); ids it does not know decode to nothing.

This module does NOT load real weights, time anything, or touch the model hub.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from verifier_train.memory import DEEPSEEK_MATH_7B, ModelShape


@dataclass(frozen=True)
class Arch:
    """A LLaMA decoder: `shape` (layers, hidden, intermediate, vocab) and attention heads.
    Keys and values have as many heads as queries (as DeepSeekMath 7B, and as
    `verifier_train.memory` counts them)."""

    name: str
    shape: ModelShape
    heads: int

    @property
    def params(self) -> int:
        return self.shape.params

    def kv_bytes_per_token(self, element_bytes: int) -> int:
        """Cached keys and values of one token over all layers, `element_bytes` each."""
        return 2 * self.shape.layers * self.shape.hidden * element_bytes


# DeepSeekMath 7B (deepseek-ai/deepseek-math-7b-base config.json), 6.91e9 parameters.
DEEPSEEK_MATH_7B_ARCH = Arch("deepseek-math-7b", DEEPSEEK_MATH_7B, heads=32)
# Half its width, 16 layers, the same vocabulary: 1.23e9 parameters.
ONE_B_ARCH = Arch("1.2b", ModelShape(layers=16, hidden=2048, intermediate=5504), heads=16)
# CPU stand-ins for the two, a few hundred thousand parameters each.
TINY_VERIFY_ARCH = Arch("tiny", ModelShape(layers=2, hidden=64, intermediate=128, vocab=1024), 4)
SMALL_ARCH = Arch("small", ModelShape(layers=2, hidden=128, intermediate=256, vocab=1024), 4)


def llama_config(arch: Arch) -> Any:
    """The transformers `LlamaConfig` of `arch` (DeepSeekMath's RoPE and norm settings).
    No end-of-sequence id: every generation runs to its token limit, so timings are of a
    known length."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=arch.shape.vocab,
        hidden_size=arch.shape.hidden,
        intermediate_size=arch.shape.intermediate,
        num_hidden_layers=arch.shape.layers,
        num_attention_heads=arch.heads,
        num_key_value_heads=arch.heads,
        max_position_embeddings=4096,
        rms_norm_eps=1e-6,
        rope_theta=10000.0,
        tie_word_embeddings=False,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=None,
    )


def random_model(arch: Arch, device: str, dtype: str) -> Any:
    """`arch` with random weights, created directly on `device` in `dtype`, in eval mode."""
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(llama_config(arch), dtype=getattr(torch, dtype))
    model.generation_config.eos_token_id = None
    return model.eval()


def tiny_tokenizer(folder: Path) -> Any:
    """The project's tiny BPE tokenizer (written with its tiny model into `folder`)."""
    from transformers import AutoTokenizer

    from prover.tiny import build_tiny_model

    build_tiny_model(folder)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    tokenizer.model_max_length = 4096
    return tokenizer


def save_random_model(arch: Arch, folder: Path, tokenizer: Any, device: str, dtype: str) -> Path:
    """Write `arch` with random `dtype` weights and `tokenizer` to `folder`, for trainers that
    load a model from a path. Built on `device` (fast), saved from there."""
    model = random_model(arch, device, dtype)
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    del model
    return folder
