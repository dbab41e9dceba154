"""Data for the DeepSeekMath-V2 learning check: the toy world's SFT rows
(`verifier_train.v2.toyworld.rows`, what the shipped toy prover is trained on) rendered with
the toy world's short templates (`rows.TOY_TEMPLATES`). This module does not train or sample
anything.
"""

from __future__ import annotations

from verifier_train.v2.toyworld.rows import (  # noqa: F401  (the check's data API)
    COPY_ALPHABET,
    META_BODY,
    MIXES,
    PHRASES,
    SKIP_MIX,
    TRAIN_MIX,
    World,
    chat,
    copy_rows,
    generator_sft_rows,
    meta_answer,
    meta_data,
    template_words,
    toy_probes,
    unseen,
    verifier_data,
    verifier_sft_rows,
    vocabulary_words,
    written_meta_data,
)
from verifier_train.v2.toyworld.rows import toy_templates as load_templates  # noqa: F401
