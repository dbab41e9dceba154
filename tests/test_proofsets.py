"""Reading proof sets in every layout, including the quirks of the published files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from prover.errors import InputError
from prover.proofsets import parse_grade, parse_map, read_proofs

# The first two records of each published DeepSeekMath-V2 output file (see its README.md).
PUBLISHED = Path(__file__).resolve().parent / "data/deepseek-math-v2"


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


@pytest.mark.parametrize(
    "row, grade, scale",
    [
        # DeepSeekMath-V2 output with a dict
        (
            {
                "question": "Q",
                "problem_idx": "IMO2025-1",
                "model_prediction": {
                    "proof": "P",
                    "average_automatic_rating": "1.0",
                    "human_rating": "7",
                },
            },
            7.0,
            7.0,
        ),
        # ... with a Python-literal string (IMO-ProofBench files upstream), grade as a string
        (
            {
                "question": "Q",
                "problem_idx": "PB-Basic-001",
                "level": "IMO-easy",
                "model_prediction": "{'proof': 'P', 'average_automatic_rating': 1.0, "
                "'human_rating': '6'}",
            },
            6.0,
            7.0,
        ),
        # CMO is graded out of 21, Putnam out of 10
        (
            {
                "question": "Q",
                "problem_idx": "CMO2024-3",
                "model_prediction": {"proof": "P", "human_rating": 9},
            },
            9.0,
            21.0,
        ),
        (
            {
                "question": "Q",
                "problem_idx": "Putnam2024-A1",
                "model_prediction": {"proof": "P", "human_rating": "10"},
            },
            10.0,
            10.0,
        ),
        # IMO-ProofBench-style row with a 0-7 grade
        (
            {
                "problem": "Q",
                "solution": "S",
                "grading guidelines": "G",
                "proof": "P",
                "grade": 5,
                "id": "PB-Advanced-007",
            },
            5.0,
            7.0,
        ),
        # plain, with and without a grade; "5/7" states its scale
        ({"problem": "Q", "proof": "P", "grade": "5/7"}, 5.0, 7.0),
        ({"problem": "Q", "proof": "P"}, None, None),
    ],
)
def test_layouts(tmp_path, row, grade, scale):
    items, bad = read_proofs([write_jsonl(tmp_path / "set.jsonl", [row])])
    assert bad == [] and len(items) == 1
    item = items[0]
    assert (item.problem, item.proof, item.grade, item.scale) == ("Q", "P", grade, scale)


def test_bad_records_are_reported_with_line_numbers(tmp_path):
    rows = [
        {"problem": "Q", "proof": "P"},
        "{not json",
        {"problem": "Q"},
        {"proof": "P"},
        {"problem": "Q", "proof": "   "},
        "[1, 2]",
        {"problem": "Q2", "proof": "P2"},
    ]
    items, bad = read_proofs([write_jsonl(tmp_path / "s.jsonl", rows)])
    assert [i.line for i in items] == [1, 7]
    assert [(b.line, b.reason.split(" (")[0]) for b in bad] == [
        (2, "malformed JSON"),
        (3, "missing field: proof"),
        (4, "missing field: problem"),
        (5, "empty proof"),
        (6, "record is not an object"),
    ]
    assert str(bad[0]).startswith(f"{tmp_path / 's.jsonl'}:2: ")


def test_csv_json_and_map(tmp_path):
    csv_path = tmp_path / "grades.csv"
    csv_path.write_text("statement,attempt,points\nQ,P,3\nQ2,P2,7\n")
    items, _ = read_proofs([csv_path], parse_map(["proof=attempt", "grade=points"]))
    assert [(i.problem, i.proof, i.grade, i.scale, i.line) for i in items] == [
        ("Q", "P", 3.0, 7.0, 2),
        ("Q2", "P2", 7.0, 7.0, 3),
    ]
    json_path = tmp_path / "set.json"
    json_path.write_text(json.dumps([{"q": "Q", "a": {"text": "P"}}]))
    items, _ = read_proofs([json_path], parse_map(["problem=q", "proof=a.text"]), scale=10)
    assert (items[0].problem, items[0].proof, items[0].scale) == ("Q", "P", 10)


@pytest.mark.parametrize("pair", ["proof", "answer=x", "proof="])
def test_bad_map_is_a_user_error(pair):
    with pytest.raises(InputError, match="--map"):
        parse_map([pair])


def test_unreadable_files_are_user_errors(tmp_path):
    with pytest.raises(InputError):
        read_proofs([tmp_path / "missing.jsonl"])
    bad_json = tmp_path / "x.json"
    bad_json.write_text("{")
    with pytest.raises(InputError, match="not valid JSON"):
        read_proofs([bad_json])


def test_repeated_ids_stay_unique(tmp_path):
    rows = [{"problem": "Q", "proof": "P", "id": "a"}] * 2
    items, _ = read_proofs([write_jsonl(tmp_path / "s.jsonl", rows)])
    assert [i.id for i in items] == ["s/a@1", "s/a@2"]


@pytest.mark.parametrize(
    "value, expected",
    [
        (7, (7.0, None)),
        ("7", (7.0, None)),
        (" 6.5 ", (6.5, None)),
        ("5/7", (5.0, 7.0)),
        ("", (None, None)),
        ("n/a", (None, None)),
        (None, (None, None)),
        (True, (None, None)),
    ],
)
def test_parse_grade(value, expected):
    assert parse_grade(value) == expected


def test_every_published_file_reads_without_flags():
    items, bad = read_proofs(sorted(PUBLISHED.glob("*.jsonl")))
    assert bad == [] and len(items) == 10
    scales = {i.file: i.scale for i in items}
    assert scales["CMO2024"] == 21 and scales["Putnam2024"] == 10
    assert scales["IMO2025"] == 7 and scales["IMO-ProofBench-Basic"] == 7
    assert all(0 <= i.normalized <= 1 for i in items)
    assert {i.level for i in items if i.file.startswith("IMO-ProofBench")} >= {"IMO-easy"}


def test_csv_fields_may_span_lines_and_headers_match_loosely(tmp_path):
    """IMO-ProofBench's gradingbench.csv layout: Problem, Response, Points, Problem ID."""
    path = tmp_path / "gradingbench.csv"
    long_proof = "We have\n\nline two " + "x" * 200_000
    import csv

    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["Problem ID", "Problem", "Response", "Points"])
        writer.writerow(["PB-1", "Q", long_proof, "6"])
        writer.writerow(["PB-2", "Q2", "P2", "nan"])
    items, bad = read_proofs([path])
    assert bad == [] and [i.line for i in items] == [2, 5]  # the long proof spans 3 lines
    assert items[0].proof == long_proof and items[0].id == "gradingbench/PB-1"
    assert (items[0].grade, items[0].scale) == (6.0, 7.0)
    assert items[1].grade is None  # NaN is no grade


def test_same_file_names_in_different_folders_stay_apart(tmp_path):
    rows = [{"problem": "Q", "proof": "P", "problem_idx": "IMO2025-1", "grade": 7}]
    for model in ("model-a", "model-b"):
        (tmp_path / model).mkdir()
        write_jsonl(tmp_path / model / "IMO2025.jsonl", rows)
    items, _ = read_proofs([tmp_path / "model-a/IMO2025.jsonl", tmp_path / "model-b/IMO2025.jsonl"])
    assert [i.id for i in items] == ["model-a/IMO2025/IMO2025-1", "model-b/IMO2025/IMO2025-1"]
    assert all(i.scale == 7 for i in items)
