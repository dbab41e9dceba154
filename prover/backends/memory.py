"""How much memory a model needs and which dtype it loads in, decided from its config before
any weights load.

`load_dtype` counts the parameters of the model built on the meta device from its config (no
memory; well under a second even for 70B), compares the weights in a dtype, times `MARGIN`
for activations and the KV cache, with the memory free on the device, and returns the dtype
to load in, or raises one line saying what would fit. `auto` is bfloat16 on a GPU, and on a
CPU float32 when it fits, else bfloat16.

It does NOT estimate quantized checkpoints (their configs carry `quantization_config`: no
check), long generations whose KV cache outgrows the margin, host memory when the weights go
to a GPU, or memory that other processes take after the check. A config that cannot be read
is left to the loader to report.
"""

from __future__ import annotations

from pathlib import Path

from prover.errors import BackendError

DTYPES = ("auto", "bfloat16", "float16", "float32")
BYTES = {"bfloat16": 2, "float16": 2, "float32": 4}
MARGIN = 1.2  # weights x 1.2: activations, KV cache and the runtime's own buffers
GIB = 2**30


def load_dtype(model: str, device: str, dtype: str, trust_remote_code: bool = False) -> str:
    """The dtype to load `model` in on `device`, or a one-line `BackendError` when it does not
    fit in the memory free there. `dtype` is one of `DTYPES`."""
    if dtype not in DTYPES:
        raise BackendError(f"unknown dtype {dtype!r}; choose one of {', '.join(DTYPES)}")
    params = parameter_count(model, trust_remote_code)
    free = free_bytes(device)
    chosen = choose_dtype(dtype, device, params, free)
    if params is not None and free is not None and needed_bytes(params, chosen) > free:
        raise BackendError(too_big_message(model, device, chosen, params, free))
    return chosen


def choose_dtype(dtype: str, device: str, params: int | None, free: int | None) -> str:
    """`dtype` itself, or for `auto` the first of (float32 on a CPU, bfloat16) that fits; on a
    GPU without bfloat16 (before Ampere) float16."""
    if dtype != "auto":
        return dtype
    if not device.startswith("cpu"):
        return "bfloat16" if gpu_has_bf16(device) else "float16"
    if params is None or free is None or needed_bytes(params, "float32") <= free:
        return "float32"
    return "bfloat16"


def gpu_has_bf16(device: str) -> bool:
    """Whether the CUDA device computes in bfloat16 natively (compute capability 8.0 and up)."""
    import torch

    if not torch.cuda.is_available():
        return True  # nothing to ask; loading will say what is wrong
    index = torch.device(device).index
    return torch.cuda.get_device_capability(index or 0) >= (8, 0)


def needed_bytes(params: int, dtype: str) -> int:
    return int(params * BYTES[dtype] * MARGIN)


def too_big_message(model: str, device: str, dtype: str, params: int, free: int) -> str:
    need = needed_bytes(params, dtype)
    half = needed_bytes(params, "bfloat16")
    hint = (
        f"pass --dtype bfloat16 (about {half / GIB:.1f} GiB)"
        if BYTES[dtype] > 2 and half <= free
        else "use a smaller model or a machine with more memory"
    )
    return (
        f"model {model} needs about {need / GIB:.1f} GiB in {dtype} ({params / 1e9:.2f}B "
        f"parameters), more than the {free / GIB:.1f} GiB free on {device}; {hint}"
    )


def parameter_count(model: str, trust_remote_code: bool = False) -> int | None:
    """Parameters of the model its config describes (None: no config, or quantized)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        config = AutoConfig.from_pretrained(model, trust_remote_code=trust_remote_code)
        if getattr(config, "quantization_config", None):
            return None
        with torch.device("meta"):
            lm = AutoModelForCausalLM.from_config(config, trust_remote_code=trust_remote_code)
    except (OSError, ValueError):
        return None
    return sum(p.numel() for p in lm.parameters())


def free_bytes(device: str) -> int | None:
    """Memory free on `device`: a GPU's free memory, or for a CPU the smaller of the system's
    available memory and what the cgroup limit leaves (None: unknown)."""
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            return None
        index = torch.device(device).index
        return torch.cuda.mem_get_info(index if index is not None else 0)[0]
    if not device.startswith("cpu"):
        return None
    known = [n for n in (_meminfo_available(), _cgroup_free()) if n is not None]
    return min(known) if known else None


def _meminfo_available() -> int | None:
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return None


def _cgroup_free() -> int | None:
    folder = Path("/sys/fs/cgroup")
    try:
        limit = (folder / "memory.max").read_text().strip()
        used = int((folder / "memory.current").read_text().strip())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else int(limit) - used
