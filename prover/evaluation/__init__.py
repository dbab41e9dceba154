"""Answer-benchmark evaluation in the DeepSeekMath setups: data loaders (`data`), prompt builders
(`tasks`), metrics (`metrics`) and the resumable runner (`run`).

This package does not grade answers or execute code itself: it uses `prover.grading` and
`prover.sandbox` for that.
"""
