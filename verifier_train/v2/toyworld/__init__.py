"""A miniature world with exact ground truth for the verifier/generator loop.

Small problems (integer arithmetic, polynomial expansion, linear equations) whose proofs are
short chains of steps, each proof with an exact label: 1 when every step is one atomic
rewrite, 0.5 when a true step skips a rewrite (and none is false), 0 when a step or the final
claim is false or the text is no proof. `check_proof` re-derives the label from any text, so
it labels model-written proofs too. The texts use the prompts' formats (`## Solution`, the
evaluation phrases, `\\boxed{score}`) and are short (under `max_chars`, default 200) so that
tiny character-level models can learn them on a CPU in minutes.

    >>> import random
    >>> from verifier_train.v2.toyworld import make_problem, correct_proof, corrupt, check_proof
    >>> proof = correct_proof(make_problem(random.Random(0), "arith"))
    >>> check_proof(proof.problem, proof.text).score
    1.0

Modules: `expr` (grammar, exact values, atomic rewrites), `problems`, `proofs` (correct
proofs and corruptions), `check` (the exact checker), `data` (datasets, analyses, probes,
the exact-label reward). This package does not train models or call them.
"""

from verifier_train.v2.toyworld.check import ToyVerdict, check_proof
from verifier_train.v2.toyworld.data import (
    ExactJudge,
    analysis_text,
    exact_reward,
    generation_text,
    generator_problems,
    judge_hacking_probes,
    labelled_proofs,
    meta_records,
    reference_analysis,
    verifier_records,
)
from verifier_train.v2.toyworld.problems import FAMILIES, Problem, make_problem, parse_problem
from verifier_train.v2.toyworld.proofs import KINDS, ToyProof, correct_proof, corrupt

__all__ = [
    "ExactJudge",
    "FAMILIES",
    "KINDS",
    "Problem",
    "ToyProof",
    "ToyVerdict",
    "analysis_text",
    "check_proof",
    "correct_proof",
    "corrupt",
    "exact_reward",
    "generation_text",
    "generator_problems",
    "judge_hacking_probes",
    "labelled_proofs",
    "make_problem",
    "meta_records",
    "parse_problem",
    "reference_analysis",
    "verifier_records",
]
