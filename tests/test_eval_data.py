"""Benchmark loaders: GSM8K, MATH, CMATH and plain files, bad records, champ and reasoning-gym."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.errors import InputError
from prover.evaluation.data import Item, gym_score, load, load_path


def write_jsonl(path: Path, rows: list) -> Path:
    lines = [row if isinstance(row, str) else json.dumps(row, ensure_ascii=False) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GSM8K = {
    "question": "Natalia sold 48 clips in April and half as many in May. How many in total?",
    "answer": "In May she sold 48/2 = <<48/2=24>>24 clips.\n"
    "In total 48+24 = <<48+24=72>>72.\n#### 72",
}
MATH = {
    "problem": "What is $\\frac{1}{2}+\\frac{1}{3}$?",
    "solution": "We have $\\frac{3}{6}+\\frac{2}{6}=\\boxed{\\frac{5}{6}}$.",
    "level": "Level 2",
    "type": "Prealgebra",
}
CMATH = {
    "grade": 1,
    "question": "妈咪买了3盒茶叶，一盒茶叶有6小包，一共买了多少小包茶叶？",
    "golden": "18",
    "reasoning_step": 1,
    "num_digits": 2,
}


def test_gsm8k_jsonl(tmp_path):
    big = dict(GSM8K, answer="So 1,234 + 1 = 1,235\n#### 1,235")
    data = load(str(write_jsonl(tmp_path / "test.jsonl", [GSM8K, big])))
    assert [i.answer for i in data.items] == ["72", "1235"]
    assert data.items[0] == Item("test-1", GSM8K["question"], "72", None, None, "gsm8k")
    assert data.items[1].id == "test-2" and not data.skipped


def test_math_json_list_and_single_record_and_directory(tmp_path):
    listed = tmp_path / "math.json"
    listed.write_text(json.dumps([MATH, dict(MATH, answer="5/6", unique_id="test/p/1.json")]))
    items = load_path(listed).items
    assert items[0].answer == "\\frac{5}{6}" and items[0].subject == "Prealgebra"
    assert items[0].level == "Level 2" and items[0].source == "math"
    assert items[1].answer == "5/6" and items[1].id == "test/p/1.json"
    (tmp_path / "MATH" / "algebra").mkdir(parents=True)
    (tmp_path / "MATH" / "algebra" / "7.json").write_text(json.dumps(MATH))
    (tmp_path / "MATH" / "algebra" / "8.json").write_text(json.dumps(dict(MATH, type="Algebra")))
    items = load(str(tmp_path / "MATH")).items
    assert [i.id for i in items] == ["algebra/7", "algebra/8"]
    assert items[1].subject == "Algebra"


def test_cmath_fields(tmp_path):
    item = load(str(write_jsonl(tmp_path / "cmath.jsonl", [CMATH]))).items[0]
    assert (item.answer, item.level, item.source) == ("18", "grade 1", "cmath")
    assert item.question.startswith("妈咪")


def test_formats_are_detected_per_record_and_bad_records_are_skipped(tmp_path):
    rows = [
        GSM8K,
        "{not json",
        {"question": "no answer here"},
        MATH,
        ["a", "list"],
        dict(MATH, solution="no box at all"),
        {"question": "What is 2+2?", "answer": 4},
        {"question": "", "answer": "#### 1"},
        CMATH,
        dict(GSM8K, answer="text\n####   "),
    ]
    data = load(str(write_jsonl(tmp_path / "mixed.jsonl", rows)))
    assert [i.source for i in data.items] == ["gsm8k", "math", "plain", "cmath"]
    assert data.items[2].answer == "4"
    assert [s.split(": ")[1] for s in data.skipped] == [
        "line 2",
        "line 3",
        "line 5",
        "line 6",
        "line 8",
        "line 10",
    ]
    assert "malformed JSON" in data.skipped[0] and "unknown format" in data.skipped[1]
    assert "\\boxed{}" in data.skipped[3] and "empty" in data.skipped[4]


def test_duplicate_ids_are_skipped_and_limit_applies(tmp_path):
    rows = [dict(GSM8K, id="a"), dict(GSM8K, id="a"), dict(GSM8K, id="b"), dict(GSM8K, id="c")]
    data = load(str(write_jsonl(tmp_path / "d.jsonl", rows)), limit=2)
    assert [i.id for i in data.items] == ["a", "b"]
    assert "duplicate id 'a'" in data.skipped[0]


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "is empty"),
        ("\n  \n", "is empty"),
        ('{"foo": 1}\n', "no usable records"),
        ("[1, 2", "not valid JSON"),
    ],
)
def test_unusable_files_are_input_errors(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        load(str(path))


def test_missing_and_binary_files_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="no such data file"):
        load(str(tmp_path / "nope.jsonl"))
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(InputError, match="binary file|not UTF-8"):
        load(str(tmp_path / "bin.jsonl"))


def test_champ():
    data = load("champ")
    assert len(data.items) == 270 and not data.skipped
    first = data.items[0]
    assert first.id == "P_Combinatorics_1" and first.answer == "239"
    assert first.subject == "Combinatorics" and first.source == "champ"
    assert {i.subject for i in data.items} >= {"Number-Theory", "Inequality", "Polynomial"}
    assert load("champ", limit=5).items == data.items[:5]


def test_reasoning_gym_generators_are_reproducible_and_scored():
    items = load("gym:basic_arithmetic:5").items
    assert len(items) == 5 and items == load("gym:basic_arithmetic:5").items
    assert items[0].id == "basic_arithmetic-0" and items[0].source == "gym:basic_arithmetic"
    assert gym_score(items[0], items[0].answer) == 1.0
    assert gym_score(items[0], "not a number") == 0.0
    assert gym_score(items[0], None) == 0.0
    assert len(load("gym:gsm_symbolic").items) == 20
    eq = load("gym:simple_equations:2").items[0]
    assert "=" in eq.question and gym_score(eq, eq.answer) == 1.0
    assert gym_score(Item("x", "q", "1"), "1") is None


@pytest.mark.parametrize(
    "spec, message",
    [
        ("gym:no_such_generator", "unknown reasoning-gym generator"),
        ("gym:basic_arithmetic:zero", "bad count"),
        ("gym:", "bad data source"),
    ],
)
def test_bad_gym_specs(spec, message):
    with pytest.raises(InputError, match=message):
        load(spec)
