"""Templates are data loaded by name; a user directory overrides them file by file."""

from __future__ import annotations

import pytest

from prover.errors import InputError
from prover.parse import format_reward
from prover.prompts import (
    EVAL_CLOSING,
    EVAL_OPENING,
    META_CLOSING,
    META_OPENING,
    NAMES,
    SELF_EVAL_HEADER,
    SOLUTION_HEADER,
    Templates,
    load_template,
    render,
)


def test_shipped_templates_ask_for_the_phrases_the_parsers_check():
    t = Templates.load()
    generation = t.generation("P")
    for phrase in (SOLUTION_HEADER, SELF_EVAL_HEADER, EVAL_OPENING, EVAL_CLOSING):
        assert phrase in generation
    assert EVAL_OPENING in t.verification("P", "Q") and EVAL_CLOSING in t.verification("P", "Q")
    meta = t.meta("P", "Q", "A")
    assert META_OPENING in meta and META_CLOSING in meta


def test_refinement_lists_attempts_and_their_analyses():
    prompt = Templates.load().refinement("PROBLEM", [("PROOF", ["bad step 2", "gap in 3"])])
    assert "## Problem\nPROBLEM" in prompt
    assert "--- Solution 0 ---\nPROOF" in prompt
    assert "=== Evaluation 1 of Solution 0 ===\ngap in 3" in prompt


def test_user_directory_overrides_one_template(tmp_path):
    (tmp_path / "proof_verification.txt").write_text("Grade {{proof}} for {{problem}}.")
    t = Templates.load(tmp_path)
    assert t.verification("P", "Q") == "Grade Q for P."
    assert t.proof_generation == load_template("proof_generation")  # others stay shipped


def test_values_are_not_rescanned_and_missing_values_fail():
    assert render("{{a}}", a="{{b}} \\boxed{1}") == "{{b}} \\boxed{1}"
    with pytest.raises(KeyError, match="problem"):
        render("{{ problem }}")


def test_bad_names_and_directories_are_user_errors(tmp_path):
    with pytest.raises(InputError, match="unknown template"):
        load_template("proof_grading")
    with pytest.raises(InputError, match="does not exist"):
        Templates.load(tmp_path / "missing")
    assert len(NAMES) == 4


def test_the_generation_template_example_is_itself_well_formed():
    """A model that follows the requested format exactly earns R_format = 1."""
    reply = (
        f"{SOLUTION_HEADER}\nproof\n\n{SELF_EVAL_HEADER}\n{EVAL_OPENING}\nfine\n\n"
        f"{EVAL_CLOSING} \\boxed{{1}}"
    )
    assert format_reward(reply, "generation", "stop") == 1.0


def test_unknown_field_or_bad_encoding_in_a_user_template(tmp_path):
    (tmp_path / "proof_generation.txt").write_text("Solve {{problme}}.")
    with pytest.raises(InputError, match=r"unknown field \{\{problme\}\}.*\{\{problem\}\}"):
        Templates.load(tmp_path)
    (tmp_path / "proof_generation.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        Templates.load(tmp_path)
