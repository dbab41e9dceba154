"""The corpus-stage benchmarks of issue 4 in one run: near-dedup (against datatrove's stock
MinHash, datasketch MinHashLSH and rensa) and decontamination (against a naive per-document
n-gram set intersection), each on its own generated ~50k-document corpus.

    python benchmarks/data_pipeline.py      # needs the data and bench extras

Each part prints its own table and ratios; see benchmarks/data_dedup.py and
benchmarks/data_decontamination.py for their options.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).parent


def main() -> None:
    for script in ("data_dedup.py", "data_decontamination.py"):
        print(f"== {script}", flush=True)
        sys.argv = [script]
        runpy.run_path(str(HERE / script), run_name="__main__")


if __name__ == "__main__":
    main()
