"""Where a command puts its run directory when `--out` is not given:
`runs/<command>-<name>-<time>`. This module does not create, read or check the directory
(`prover.rundir`)."""

from __future__ import annotations

import time
from pathlib import Path


def default_run_dir(source: str, command: str) -> Path:
    """`runs/<command>-<stem of source>-<YYYYmmdd-HHMMSS>`, relative to the working directory."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{command}-{Path(source).stem}-{stamp}"
