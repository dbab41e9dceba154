"""Training stages for verifiers and generators (data pipeline, SFT, GRPO, ...).

Empty for now: the stages land in later issues; `prover train` and `prover data` will be thin
commands over this package.
"""
