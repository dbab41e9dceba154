"""The DeepSeekMath-V2 stages: proof verification and generation that check themselves.

- `verifier`, `generator`: the verifier / meta-verifier and generator training data and rows;
- `rewards`: R_format · R_score · R_meta for the verifier, R_format · (0.76 R_proof + 0.24
  R_self) for the generator, as TRL reward functions;
- `stages`: the GRPO trainers of the verifier and the generator;
- `autolabel`: scaled verification (n analyses, m meta-checks, the label rules), and
  `labelrun`: `prover label` over proof-set files;
- `iterate`: the round driver (verifier -> generator -> proofs -> labels -> verifier data),
  and `rounds`: its real stages from one recipe file (`prover iterate`);
- `toy_prover`: the shipped toy prover (`--model toy`), trained on the toy world;
- `probes`: judge-hacking probes run during training;
- `toyworld`: a world of exactly checkable proofs, for learning checks on a CPU.

The DeepSeekMath (V1) stages (pretraining, SFT, reward model, Math-Shepherd, GRPO, iterative RL)
stay at `verifier_train.*`, where a reader of the V1 paper looks for them.
"""
