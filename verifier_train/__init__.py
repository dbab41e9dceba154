"""Data pipeline and training stages for verifiers and generators.

`verifier_train.data` holds the DeepSeekMath corpus pipeline (datatrove steps); `grpo` and
`rewards` hold the GRPO stage with outcome and process supervision. The other training stages
(pretraining, SFT, reward models, verifier, meta-verifier, generator, auto-labelling, the
iteration driver) land in later issues; `prover train` and `prover data` are thin commands over
this package.
"""
