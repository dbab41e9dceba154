"""`python -m prover.models [NAME]`: list the built-in models, or print NAME's folder (building
a cached conversion on first use), e.g. for `transformers serve "$(python -m prover.models
smollm2)"`."""

from __future__ import annotations

import sys

from prover.errors import ProverError
from prover.models import MODELS, builtin_folder


def main(argv: list[str]) -> int:
    if not argv:
        for model in MODELS.values():
            print(f"{model.name}\t{model.summary}")
        return 0
    try:
        print(builtin_folder(argv[0]))
    except ProverError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
