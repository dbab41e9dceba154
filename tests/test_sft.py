"""SFT stage: converters per format (GSM8K, MATH, champ, unified), the answer validator, the
prompt/completion dataset, and a few real TRL SFTTrainer steps on the tiny Llama on CPU with
the loss on completion tokens only."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from verifier_train.sft import (
    CPU_OVERRIDES,
    SFTRecipe,
    build_trainer,
    completion_text,
    prompt_text,
    to_dataset,
    to_sft_config,
)
from verifier_train.sft_data import (
    SFTMeta,
    SFTRecord,
    champ_dict,
    from_champ,
    load_sft,
)

GSM8K = {
    "question": "Natalia sold 48 clips in April and half as many in May. How many in total?",
    "answer": "In May she sold 48/2 = <<48/2=24>>24.\nIn total 48+24 = <<48+24=72>>72.\n#### 72",
}
MATH = {
    "problem": "What is $1+1$?",
    "solution": "We add: $1+1=\\boxed{2}$.",
    "type": "Prealgebra",
    "level": "Level 1",
}
CHAMP = {"problem": "Find 2+3.", "steps": ["Add 2 and 3.", "We get 5."], "answer": "5"}


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_gsm8k_converter(tmp_path: Path) -> None:
    records, rejected = load_sft([write_jsonl(tmp_path / "g.jsonl", [json.dumps(GSM8K)])])
    assert rejected == []
    (record,) = records
    assert record.answer == "72" and "<<" not in record.reasoning
    assert record.reasoning.endswith("$\\boxed{72}$.")
    assert record.meta.source == "gsm8k" and record.meta.format == "cot"


def test_math_converter_takes_last_box(tmp_path: Path) -> None:
    records, rejected = load_sft([write_jsonl(tmp_path / "m.jsonl", [json.dumps(MATH)])])
    assert rejected == []
    (record,) = records
    assert (record.question, record.answer) == (MATH["problem"], "2")
    assert record.meta.domain == "Prealgebra" and record.meta.level == "Level 1"


def test_math_csv_and_bad_rows_reported_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text(
        "problem,solution,type,level\n"
        '"What is $2+2$?","$2+2=\\boxed{4}$",Algebra,Level 2\n'
        '"No box here","the answer is 3",Algebra,Level 1\n',
        encoding="utf-8",
    )
    records, rejected = load_sft([path])
    assert [r.answer for r in records] == ["4"]
    assert [(r.line, "boxed" in r.reason) for r in rejected] == [(3, True)]


def test_champ_converter_dict_and_dataset_problem() -> None:
    record = from_champ(CHAMP)
    assert record.reasoning.startswith("1. Add 2 and 3.\n2. We get 5.")
    assert record.answer == "5" and record.meta.source == "champ"
    champ_dataset = pytest.importorskip("champ_dataset")
    problem = next(iter(champ_dataset.load("v0").problems.values()))
    converted = from_champ(champ_dict(problem))
    assert converted.question == problem.text and converted.answer == problem.answer


def test_unknown_malformed_and_missing_fields_are_skipped(tmp_path: Path) -> None:
    lines = [json.dumps(CHAMP), "{not json", json.dumps({"foo": 1}), json.dumps({"question": "q"})]
    records, rejected = load_sft([write_jsonl(tmp_path / "mixed.jsonl", lines)])
    assert len(records) == 1
    assert [r.line for r in rejected] == [2, 3, 4]
    assert "malformed JSON" in rejected[0].reason and "unknown format" in rejected[1].reason


def test_validator_rejects_mismatch_keeps_match(tmp_path: Path) -> None:
    good = SFTRecord("What is 6*7?", "6*7 = 42, so the answer is $\\boxed{42}$.", "42")
    bad = SFTRecord("What is 6*7?", "6*7 = 41, so the answer is $\\boxed{41}$.", "42")
    path = write_jsonl(tmp_path / "u.jsonl", [json.dumps(r.to_dict()) for r in (good, bad)])
    records, rejected = load_sft([path])
    assert records == [good]
    (why,) = rejected
    assert why.line == 2 and "'41'" in why.reason and "does not match" in str(why)


def test_record_round_trip_and_meta_format() -> None:
    record = SFTRecord("q", "r \\boxed{1}", "1", SFTMeta(lang="zh", domain="algebra", format="pot"))
    assert SFTRecord.from_dict(record.to_dict()) == record
    assert record.to_dict()["meta"] == {"lang": "zh", "domain": "algebra", "format": "pot"}
    with pytest.raises(ValueError, match="format"):
        SFTMeta(format="latex")


def test_dataset_is_deepseek_instruct_prompt_completion() -> None:
    record = SFTRecord("What is 1+1?", "1+1=2.", "2")
    dataset = to_dataset([record])
    assert dataset.column_names == ["prompt", "completion"]
    row = dataset[0]
    assert row["prompt"] == (
        "User: What is 1+1?\nPlease reason step by step, and put your final answer within "
        "\\boxed{}.\n\nAssistant:"
    )
    assert row["completion"] == " 1+1=2.\nThe answer is $\\boxed{2}$."
    assert prompt_text(record) == row["prompt"] and completion_text(record) == row["completion"]


def test_recipe_maps_paper_numbers() -> None:
    config = to_sft_config(SFTRecipe(), "out", **CPU_OVERRIDES)
    assert (config.max_steps, config.learning_rate, config.max_length) == (500, 5e-5, 4096)
    assert SFTRecipe().batch_size == 256 and config.completion_only_loss is True
    assert config.lr_scheduler_type == "constant"


def test_sft_trainer_trains_on_completion_only(tiny_model: Path, tmp_path: Path) -> None:
    records = [SFTRecord(f"What is {i}+1?", f"{i}+1={i + 1}.", str(i + 1)) for i in range(8)]
    trainer = build_trainer(
        tiny_model,
        records,
        SFTRecipe(),
        tmp_path / "out",
        **{**CPU_OVERRIDES, "max_steps": 3, "per_device_train_batch_size": 4},
        gradient_accumulation_steps=1,
        learning_rate=1e-2,
        logging_steps=1,
        save_steps=1000,
        max_length=256,
    )
    batch = next(iter(trainer.get_train_dataloader()))
    tokenizer = trainer.processing_class
    for ids, labels in zip(batch["input_ids"], batch["labels"], strict=True):
        text = tokenizer.decode(ids[labels != -100])
        assert text.startswith(" ") and "Assistant:" not in text and "User:" not in text
        assert "\\boxed{" in text and text.endswith(tokenizer.eos_token)
        prompt = tokenizer.decode(ids[(labels == -100) & (ids != tokenizer.pad_token_id)])
        assert prompt.startswith("User:") and prompt.endswith("Assistant:")
    before = [p.detach().clone() for p in trainer.model.parameters()]
    result = trainer.train()
    assert math.isfinite(result.training_loss)
    assert any(
        not torch.equal(a, b) for a, b in zip(before, trainer.model.parameters(), strict=True)
    )
