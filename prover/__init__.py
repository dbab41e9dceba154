"""Self-verifiable mathematical reasoning: generate proofs, verify them, refine them.

The public API is small: backends (`prover.backends`), prompt templates (`prover.prompts`),
parsers (`prover.parse`) and the test-time loop (`prover.loop`).
"""

__version__ = "0.1.0"
