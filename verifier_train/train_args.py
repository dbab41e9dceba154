"""Training arguments built from the fields the installed transformers actually has.

The recipes name settings by today's names, but a `vllm` environment pins an older
transformers (vLLM 0.32-0.34 pin it below 5.20-5.23), where some fields do not exist yet:
`activation_checkpointing` arrived in 5.23.0, and before it the same switch was
`gradient_checkpointing`. `build_args` renames such a field to the name the installed
class knows, so one recipe builds its arguments under every transformers the extras allow.
This module does not validate recipes (`recipe_yaml`) or choose any setting.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

# today's name -> the older name of the same setting
OLDER_NAMES = {"activation_checkpointing": "gradient_checkpointing"}


def build_args(cls: type, output_dir: Path | str, values: dict[str, Any]) -> Any:
    """`cls(output_dir=..., **values)` with every field the class lacks under today's name
    passed under its older name."""
    known = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key not in known and OLDER_NAMES.get(key) in known:
            key = OLDER_NAMES[key]
        kwargs[key] = value
    return cls(output_dir=str(output_dir), **kwargs)
