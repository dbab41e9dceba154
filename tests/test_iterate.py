"""The DeepSeekMath-V2 iteration driver: data rules, resume with stand-in stages, and one
round end to end through `prover iterate` on the tiny model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from prover.cli import main
from verifier_train.v2.iterate import Iterate, IterateConfig, Stages, labelled_rows

RECIPE = Path(__file__).resolve().parents[1] / "verifier_train/recipes/iterate-v2-tiny-cpu.yaml"


def label(problem: str, score, status: str = "labelled") -> dict:
    return {"problem": problem, "proof": f"proof of {problem}", "label": score, "status": status}


def test_labelled_rows_hard_only():
    labels = [label("easy", 1.0), label("hard", 1.0), label("hard", 0.0),
              label("odd", None, "needs_human")]  # fmt: skip
    assert [r["problem"] for r in labelled_rows(labels, hard_only=True)] == ["hard", "hard"]
    assert len(labelled_rows(labels, hard_only=False)) == 3
    assert labelled_rows(labels, True)[1]["score"] == 0.0


class Crash(Exception):
    pass


def standin_stages(calls: list, crash_at: str | None = None, rounds: list | None = None) -> Stages:
    """Stages that record their calls (and the rounds sampling was asked for) and write what
    the real ones would."""

    def step(name, result):
        calls.append(name)
        if name == crash_at:
            raise Crash(name)
        return result

    def sample(generator, out: Path, round_: int):
        step("sample", None)
        (rounds if rounds is not None else []).append(round_)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"problem": "p", "solution": "s"}) + "\n")

    def label_step(verifier, proofs, out: Path, round_: int):
        step("label", None)
        out.write_text(json.dumps(label("p", 0.5)) + "\n")
        return [label("p", 0.5)]

    return Stages(
        lambda init, rows, out: step("verifier", f"{out}/final@{len(rows)}"),
        lambda init, verifier, out: step("generator", f"{out}/final"),
        sample,
        label_step,
    )


def test_resume_runs_only_unfinished_steps(tmp_path):
    config = IterateConfig(rounds=2)
    calls: list[str] = []
    with pytest.raises(Crash):
        Iterate(tmp_path, config, standin_stages(calls, crash_at="label")).run("m", [{}])
    assert calls == ["verifier", "generator", "sample", "label"]
    calls.clear()
    sampled: list[int] = []
    rounds = Iterate(tmp_path, config, standin_stages(calls, rounds=sampled)).run("m", [{}])
    assert calls == ["label", "verifier", "generator", "sample", "label"]
    assert sampled == [1]  # round 1 samples with its own seed
    # round 1's verifier trained on the initial row plus round 0's labelled (hard) proof
    assert rounds[1]["done"]["verifier"].endswith("final@2")
    calls.clear()
    Iterate(tmp_path, config, standin_stages(calls)).run("m", [{}])
    assert calls == []


def test_one_round_through_the_cli(tiny_model, tmp_path):
    pytest.importorskip("trl")
    recipe = yaml.safe_load(RECIPE.read_text())
    recipe["model"] = str(tiny_model)
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(recipe))
    graded = [{"problem": f"Show that {k} = {k}.", "proof": f"{k} = {k}.", "grade": 1}
              for k in range(2)]  # fmt: skip
    (tmp_path / "graded.jsonl").write_text("".join(json.dumps(r) + "\n" for r in graded))
    (tmp_path / "problems.jsonl").write_text('{"problem": "Show that 2 = 2."}\n')
    cmd = ["iterate", str(tmp_path / "recipe.yaml"), "--out", str(tmp_path / "run"),
           "--rounds", "1"]  # fmt: skip
    result = CliRunner().invoke(main, cmd)
    assert result.exit_code == 0, result.output
    state = json.loads((tmp_path / "run" / "state.json").read_text())
    assert set(state["rounds"][0]["done"]) == {"verifier", "generator", "proofs", "labels"}
    for part in ("verifier/final/config.json", "generator/final/config.json", "proofs.jsonl"):
        assert (tmp_path / "run" / "round-0" / part).exists(), part
    assert len((tmp_path / "run/round-0/proofs.jsonl").read_text().splitlines()) == 2


def test_recipe_without_data_is_one_line(tiny_model, tmp_path):
    (tmp_path / "r.yaml").write_text(f"model: {tiny_model}\n")
    result = CliRunner().invoke(main, ["iterate", str(tmp_path / "r.yaml"), "--out",
                                       str(tmp_path / "o")])  # fmt: skip
    assert result.exit_code == 2
    assert "needs graded `verifier` proofs and `problems`" in result.output


def test_shipped_7b_v2_recipe_reads():
    from verifier_train.grpo import GRPORecipe
    from verifier_train.recipe_yaml import read_recipe, section

    path = RECIPE.with_name("v2-deepseekmath-7b.yaml")
    recipe = read_recipe(path)
    config = section(recipe, "iterate", IterateConfig, path)
    assert (config.label_analyses, config.label_meta, config.label_min_valid) == (8, 3, 2)
    for name in ("verifier", "meta_verifier", "generator"):
        stage = section(recipe, name, GRPORecipe, path)
        assert stage.per_device_train_batch_size * 8 % stage.num_generations == 0


def test_sample_then_label_read_each_other(tiny_model, tmp_path):
    problems = tmp_path / "problems.jsonl"
    problems.write_text('{"problem": "Show that 1 = 1."}\n{"question": "Show that 2 = 2."}\n')
    out = tmp_path / "proofs.jsonl"
    common = ["--model", str(tiny_model), "--max-tokens", "8"]
    first = CliRunner().invoke(main, ["sample", str(problems), "-n", "2", "--out", str(out),
                                      *common])  # fmt: skip
    assert first.exit_code == 0 and "sampled 4 proofs for 2 problems" in first.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["problem"] for r in rows} == {"Show that 1 = 1.", "Show that 2 = 2."}
    again = CliRunner().invoke(main, ["sample", str(problems), "-n", "2", "--out", str(out),
                                      *common])  # fmt: skip
    assert "sampled 0 proofs" in again.output
    usable = tmp_path / "usable.jsonl"  # the tiny model's proofs are often empty
    usable.write_text("".join(json.dumps(r | {"proof": r["proof"] or "1 = 1."}) + "\n"
                              for r in rows))  # fmt: skip
    labelled = CliRunner().invoke(main, ["label", str(usable), "-V", "1", "-k", "1",
                                         "--meta-verifications", "1", *common])  # fmt: skip
    assert labelled.exit_code == 0, labelled.output
    assert "of 4 proofs labelled" in labelled.output


def test_each_round_samples_and_labels_with_its_own_seed():
    from verifier_train.v2.rounds import Plan, _sampling

    plan = Plan(IterateConfig(seed=5), None, None, [], [], None)
    assert [_sampling(plan, r).seed for r in (0, 1, 2)] == [5, 6, 7]
