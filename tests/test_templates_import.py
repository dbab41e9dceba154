"""`prover templates import|list` and the published prompts through `--templates`.

`data/published_templates/math_templates.py` is a synthetic stand-in for DeepSeek-Math-V2's
`inference/math_templates.py`: same structure, fields and brace escapes, other words. The
expected prompts are built by hand, and with the `str.format` calls of the published
`inference/main.py` on the synthetic dict (the test runs its own data file; the project
only parses it)."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import FakeBackend

from prover.backends.base import Sampling
from prover.cli import main
from prover.loop import Loop, LoopConfig, refinement_groups
from prover.prompts import Templates
from prover.prompts.layout import published_attempts, published_ratings
from prover.prompts.sets import resolve
from prover.rundir import RunDir
from prover.texinput import read_problems

SYNTHETIC = Path(__file__).parent / "data" / "published_templates" / "math_templates.py"
T = runpy.run_path(str(SYNTHETIC))["math_templates"]  # what main.py formats with


def invoke(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


@pytest.fixture
def imported(tmp_path) -> Path:
    out = tmp_path / "set"
    result = invoke("templates", "import", SYNTHETIC, "--out", out)
    assert result.exit_code == 0, result.output
    return out


# -- import and list -------------------------------------------------------------------
def test_import_writes_a_set_with_a_manifest(imported):
    names = sorted(p.name for p in imported.iterdir())
    assert names == [
        "manifest.json",
        "meta_verification.txt",
        "proof_generation.txt",
        "proof_refinement.txt",
        "proof_verification.txt",
    ]
    manifest = json.loads((imported / "manifest.json").read_text())
    assert manifest["imported_from"] == str(SYNTHETIC.resolve())
    import hashlib

    assert manifest["sha256"] == hashlib.sha256(SYNTHETIC.read_bytes()).hexdigest()
    assert manifest["layout"] == "published"
    assert manifest["fields"]["meta_verification"]["rating"] == "analysis"
    # fields mapped, escapes turned into literal braces
    text = (imported / "proof_verification.txt").read_text()
    assert "{{problem}}" in text and "{{proof}}" in text and "{statement}" not in text
    assert "\\boxed{...} // a grade in {0, 0.5, 1}" in text


def test_import_accepts_a_repository_copy(tmp_path):
    repo = tmp_path / "DeepSeek-Math-V2"
    (repo / "inference").mkdir(parents=True)
    (repo / "inference" / "math_templates.py").write_bytes(SYNTHETIC.read_bytes())
    result = invoke("templates", "import", repo, "--out", tmp_path / "set")
    assert result.exit_code == 0, result.output
    assert Templates.load(tmp_path / "set").layout == "published"


def test_list_shows_shipped_and_imported_sets_with_digests(tmp_path):
    root = tmp_path / "root"
    env = {"PROVER_TEMPLATES": str(root)}
    result = invoke("templates", "import", SYNTHETIC, env=env)  # default: root/deepseek-math-v2
    assert result.exit_code == 0, result.output
    assert "--templates deepseek-math-v2" in result.output
    listed = invoke("templates", "list", env=env)
    assert listed.exit_code == 0, listed.output
    shipped, published = listed.output.strip().splitlines()
    assert shipped.split()[:2] == ["shipped", Templates.load().digest()]
    digest = Templates.load(root / "deepseek-math-v2").digest()
    assert published.split()[:2] == ["deepseek-math-v2", digest]
    assert str(SYNTHETIC.resolve()) in published and "published layout" in published


def test_templates_option_takes_a_set_name(tmp_path, monkeypatch):
    monkeypatch.setenv("PROVER_TEMPLATES", str(tmp_path))
    assert invoke("templates", "import", SYNTHETIC).exit_code == 0
    assert resolve("deepseek-math-v2") == str(tmp_path / "deepseek-math-v2")
    assert resolve("shipped") is None and resolve(None) is None
    assert resolve(str(tmp_path)) == str(tmp_path)  # a directory is taken as it is


def test_shipped_digest_is_unchanged():
    """Run directories of earlier runs recorded this digest: resuming them must still work."""
    import hashlib

    t = Templates.load()
    old = (
        f"Templates(proof_generation={t.proof_generation!r}, "
        f"proof_verification={t.proof_verification!r}, "
        f"meta_verification={t.meta_verification!r}, proof_refinement={t.proof_refinement!r})"
    )
    assert t.digest() == hashlib.sha256(old.encode()).hexdigest()[:16]


# -- bad input: one line, exit 2, nothing written ---------------------------------------
BAD = {
    "unknown field": (
        lambda s: s.replace("{statement}", "{statment}", 1),
        "template proof_verification: unknown field {statment}; it may use {statement}, {proof}",
    ),
    "not python": (
        lambda s: "# Notes\n\nThese are *not* Python – at all.\n",
        "is not a Python file",
    ),
    "missing template": (
        lambda s: s.replace('"meta_verification":', '"meta_verifier":'),
        "math_templates has no template 'meta_verification'",
    ),
    "not a literal": (
        lambda s: s.replace('"proof_generation": """', '"proof_generation": f"""'),
        "template proof_generation (line",
    ),
    "no dict": (lambda s: "templates = {}\n", "defines no `math_templates = {...}` dict"),
    "format spec": (lambda s: s.replace("{question}", "{question!r}"), "format spec"),
    "lone brace": (
        lambda s: s.replace("{{0, 0.5, 1}}", "{0, 0.5, 1}}"),
        "template proof_verification: Single '}'",
    ),
    "literal field": (
        lambda s: s.replace("{{a, b}}", "{{{{a}}}}"),
        "template meta_verification: its text {{a}} would read as a field",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_are_one_line_exit_2_and_write_nothing(tmp_path, case):
    edit, message = BAD[case]
    source = tmp_path / "math_templates.py"
    text = edit(SYNTHETIC.read_text())
    assert text != SYNTHETIC.read_text()
    source.write_text(text)
    out = tmp_path / "out"
    result = invoke("templates", "import", source, "--out", out)
    assert result.exit_code == 2, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert message in result.output
    assert not out.exists()


@pytest.mark.parametrize("make", ["binary", "empty directory", "missing"])
def test_unreadable_sources(tmp_path, make):
    path = tmp_path / "src"
    if make == "binary":
        path.write_bytes(b"\x89PNG\x00\x01\xff")
    elif make == "empty directory":
        path.mkdir()
    message = {"binary": "is not a Python file", "empty directory": "holds no inference/",
               "missing": "does not exist"}[make]  # fmt: skip
    result = invoke("templates", "import", path, "--out", tmp_path / "out")
    assert result.exit_code == 2 and message in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_non_empty_out_needs_force(imported):
    again = invoke("templates", "import", SYNTHETIC, "--out", imported)
    assert again.exit_code == 2 and "--force" in again.output
    assert invoke("templates", "import", SYNTHETIC, "--out", imported, "--force").exit_code == 0


def test_an_imported_set_must_be_whole(imported):
    (imported / "proof_refinement.txt").unlink()
    result = invoke("templates", "list", imported)
    assert "unusable" in result.output and "proof_refinement.txt" in result.output


# -- the prompts, byte for byte ---------------------------------------------------------
PROBLEM = "  Show that $2$ is even.\n"
PROOF = "\n2 = 2 \\cdot 1, so 2 is even.  "
RATING = "Here is my evaluation of the solution:\nA step {x} is thin.\n\n\\boxed{0.5}\n"

GENERATION = """Work out the task below in full, then grade your own work.

Reply like this:

## Solution // start with this heading
... // the full argument

## Self Evaluation // then this heading

Here is my evaluation of the solution:
... // your notes

Based on my evaluation, the final overal score should be:
\\boxed{...} // 0, 0.5 or 1

---

Task input:

## Problem
Show that $2$ is even."""

VERIFICATION_TAIL = """Based on my evaluation, the final overal score should be:
\\boxed{...} // a grade in {0, 0.5, 1}

---

Task input:

## Problem
Show that $2$ is even.

## Solution
2 = 2 \\cdot 1, so 2 is even."""

META_TAIL = """Task input:

## Problem
Show that $2$ is even.

## Solution
2 = 2 \\cdot 1, so 2 is even.

## Solution Evaluation
Here is my evaluation of the solution:
A step {x} is thin.

\\boxed{0.5}"""


def test_generation_verification_and_meta_prompts(imported):
    t = Templates.load(imported)
    assert t.generation(PROBLEM) == GENERATION
    verification = t.verification(PROBLEM, PROOF)
    assert verification.startswith("## Brief\n\nGrade the argument below")
    assert verification.endswith(VERIFICATION_TAIL)
    meta = t.meta(PROBLEM, PROOF, RATING)
    assert meta.startswith('Below are a "task"') and meta.endswith(META_TAIL)
    assert "Sets look like\n{a, b} and stay literal." in meta
    # ... and what main.py's `.format` calls give
    assert t.generation(PROBLEM) == T["proof_generation"].format(question=PROBLEM.strip())
    assert verification == T["proof_verification"].format(
        statement=PROBLEM.strip(), proof=PROOF.strip()
    )
    assert meta == T["meta_verification"].format(
        statement=PROBLEM.strip(), proof=PROOF.strip(), rating=RATING.strip()
    )


def test_refinement_prompt_nests_the_instruction_and_lays_out_proofs(imported):
    t = Templates.load(imported)
    attempts = [("proof A", ["r0 of A", "r1 of A"]), ("proof B", []), ("proof C", ["r0 of C"])]
    expected = (
        GENERATION
        + "\n\n## Earlier Attempts\nSome attempts and gradings of them follow. Write a better "
        "one.\n\n"
        "--- Solution 0 ---\nproof A\n\n"
        "=== Evaluation 0 of Solution 0 ===\nr0 of A\n\n=== Evaluation 1 of Solution 0 ===\n"
        "r1 of A\n\n\n"
        "--- Solution 1 ---\nproof B\n\n\n\n\n"  # main.py keeps the empty ratings' gap
        "--- Solution 2 ---\nproof C\n\n=== Evaluation 0 of Solution 2 ===\nr0 of C"
        "\n\n## Last Words\nReply with a `## Solution` heading, then a `## Self Evaluation` "
        "heading."
    )
    assert t.refinement(PROBLEM, attempts) == expected
    assert t.refinement(PROBLEM, attempts) == T["proof_refinement"].format(
        instruction=T["proof_generation"].format(question=PROBLEM.strip()).strip(),
        proofs_to_refine=main_py_summary([(p, list(enumerate(r))) for p, r in attempts]),
    )


def main_py_summary(proofs: list[tuple[str, list[tuple[float, str]]]]) -> str:
    """`proofs_to_refine` as `_prepare_proof_agg_tasks` in main.py builds it (its shuffles
    left out: each score group here has one rating, or the test uses their order)."""
    summary = []
    for proof, scored in proofs:
        score2ratings: dict[float, list[dict]] = {}
        for score, rating in scored:
            score2ratings.setdefault(float(score), []).append({"rating": rating})
        scores = sorted(score2ratings)
        max_rating = 8 if len(scores) == 1 else 4
        ratings = []
        for score in scores:
            for rating in score2ratings[score][:max_rating]:
                rating = rating["rating"]
                ratings.append(
                    f"=== Evaluation {len(ratings)} of Solution {len(summary)} ===\n{rating}"
                )
                if len(ratings) == 8:
                    break
        ratings = "\n\n".join(ratings)
        summary.append(f"--- Solution {len(summary)} ---\n{proof}\n\n{ratings}")
    return "\n\n\n".join(summary).strip()


def test_published_rating_choice_matches_main_py():
    one_score = [(0.0, f"z{i}") for i in range(10)]
    assert published_ratings(one_score) == [f"z{i}" for i in range(8)]
    mixed = [(1.0, "a"), (0.0, "b"), (0.5, "c"), (0.0, "d")] * 3
    shown = published_ratings(mixed)
    assert shown == ["b", "d", "b", "d", "c", "c", "c", "a"]  # 4 per score, 8 reached
    many = [(s, f"{s}-{i}") for s in (0.0, 0.5, 1.0) for i in range(5)]
    assert len(published_ratings(many)) == 12  # main.py's cap of 8 ends only one group
    for scored in (one_score, mixed, many):
        assert published_attempts([("P", published_ratings(scored))]) == main_py_summary(
            [("P", scored)]
        )


def test_refinement_groups_follow_n_proofs_to_refine():
    assert refinement_groups(3, 1) == [(0,), (1,), (2,)]
    assert refinement_groups(3, 2) == [(0, 1), (0, 2), (1, 2)]
    assert refinement_groups(2, 4) == [(0, 1)]


# -- `prover solve --templates DIR` sends the published prompts --------------------------
SCORES = (0.0, 1.0, 0.5)  # the i-th verification of every proof


def published_reply(prompt: str, i: int) -> str:
    """Answers by prompt kind, as the published templates word them."""
    if prompt.startswith("## Brief"):
        return f"Here is my evaluation of the solution:\nnote {i}\n\n\\boxed{{{SCORES[i]}}}\n"
    if prompt.startswith("Below are"):
        return "Here is my analysis:\nfair\n\n\\boxed{1}"
    draft = "better draft" if "## Earlier Attempts" in prompt else "first draft"
    return f"## Solution\n{draft} {i}\n\n## Self Evaluation\nok\n\n\\boxed{{0.5}}"


def recording_backend() -> FakeBackend:
    """A backend that answers by prompt kind and records every prompt it is sent; it only
    returns its samples, never reporting them as it goes."""
    return FakeBackend(published_reply, report=False)


def expected_calls(problem: str) -> list[list[str]]:
    """What main.py would send for the same problem, proofs and ratings, stage by stage."""
    q = problem.strip()
    ratings = [(s, published_reply("## Brief", i).strip()) for i, s in enumerate(SCORES)]
    calls = [[T["proof_generation"].format(question=q)]]
    for proof in ("first draft 0", "better draft 0"):
        calls.append([T["proof_verification"].format(statement=q, proof=proof)])
        calls.append([
            T["meta_verification"].format(statement=q, proof=proof, rating=r)
            for s, r in ratings if s <= 0.75
        ])  # fmt: skip
        if proof == "first draft 0":
            summary = main_py_summary([(proof, ratings)])
            calls.append([T["proof_refinement"].format(
                instruction=T["proof_generation"].format(question=q).strip(),
                proofs_to_refine=summary.strip(),
            )])  # fmt: skip
    return calls


def test_solve_with_imported_templates_sends_the_published_prompts(imported, tmp_path, monkeypatch):
    tex = tmp_path / "problem.tex"
    tex.write_text("Show that $n^2 + n$ is even for every integer $n$.\n")
    recorder = recording_backend()
    monkeypatch.setattr("prover.solving.build_backends", lambda config: (recorder, recorder))
    out = tmp_path / "run"
    small = ["-P", "1", "-V", "3", "-K", "1", "-R", "1", "--meta"]
    result = invoke("solve", tex, "--templates", imported, "--out", out, *small)
    assert result.exit_code == 0, result.output
    assert recorder.batches == expected_calls(read_problems(tex)[0].text)
    run = json.loads((out / "run.json").read_text())
    assert run["templates"] == Templates.load(imported).digest() != Templates.load().digest()


def test_loop_refines_several_proofs_per_prompt(imported, tmp_path):
    recorder = recording_backend()
    config = LoopConfig(proofs=2, verifications=3, top_k=2, rounds=1, proofs_per_refinement=2,
                        generation=Sampling())  # fmt: skip
    run = RunDir(tmp_path / "run", {})
    Loop(recorder, recorder, config, run, Templates.load(imported)).solve({"1": PROBLEM})
    [refinement] = recorder.batches[2]
    ratings = [(s, published_reply("## Brief", i).strip()) for i, s in enumerate(SCORES)]
    proofs = [("first draft 0", ratings), ("first draft 1", ratings)]
    assert refinement == T["proof_refinement"].format(
        instruction=T["proof_generation"].format(question=PROBLEM.strip()).strip(),
        proofs_to_refine=main_py_summary(proofs),
    )
    [parents] = {tuple(p["parents"]) for p in run.records("proofs") if p["round"] == 1}
    assert len(parents) == 2


# -- one --templates everywhere -----------------------------------------------------------
def test_every_command_takes_the_same_templates_option():
    from prover.cli.options import _resolve_templates

    commands = [main.commands[n] for n in ("solve", "verify", "score", "label", "sample",
                                           "iterate") if n in main.commands]  # fmt: skip
    train = main.commands["train"]
    commands += [train.commands[n] for n in ("verifier", "meta-verifier", "generator")
                 if n in train.commands]  # fmt: skip
    assert len(commands) >= 3
    for command in commands:
        [option] = [p for p in command.params if "--templates" in p.opts]
        assert option.callback is _resolve_templates, command.name
