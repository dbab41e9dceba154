"""The DeepSeekMath corpus pipeline as datatrove pipeline steps: read web documents, recall
math pages, dedup, decontaminate, write shards. `prover data ...` commands are thin wrappers.

Stages land one by one; each module documents what it does and does not do.
"""
