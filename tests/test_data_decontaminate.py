"""Decontamination (issue 4, stage 6): the benchmark index, the `Decontaminate` datatrove step,
`prover data decontaminate`, and the step under LocalPipelineExecutor with 2 workers.

The synthetic corpus: half of the CHAMP problems are the benchmark; pages are built from the
other half (statements and solutions), generated LaTeX explanations and everyday prose, and
pages that embed benchmark problems whole or in part with light edits around them."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

pytest.importorskip("datatrove")
champ_dataset = pytest.importorskip("champ_dataset")

from datatrove.data import Document  # noqa: E402

from prover.cli import main  # noqa: E402
from prover.errors import InputError  # noqa: E402
from verifier_train.data import benchmark_index as bi  # noqa: E402
from verifier_train.data.decontaminate import Decontaminate  # noqa: E402

SHORT = ["compute the sum of 2 and 3", "Is 1001 prime?", "Solve x + 1 = 4 for x."]
EVERYDAY = (
    "the weather was mild and the market opened early so we walked along the river past "
    "the bakery and a small library where children read stories about ships and gardens"
).split()


# -- the synthetic corpus ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def champ():
    problems = sorted(champ_dataset.load("v0").problems.values(), key=lambda p: p.identifier)
    return problems[::2], problems[1::2]  # (benchmark, other)


@pytest.fixture(scope="module")
def bench_file(tmp_path_factory, champ) -> Path:
    path = tmp_path_factory.mktemp("bench") / "bench.jsonl"
    rows = [{"id": p.identifier, "problem": p.text} for p in champ[0]]
    rows += [{"question": text} for text in SHORT]  # ids: line numbers
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture(scope="module")
def index(bench_file) -> bi.BenchmarkIndex:
    return bi.build([bench_file]).index


def latex_page(rng: random.Random) -> str:
    a, b, c = (rng.randint(2, 99) for _ in range(3))
    return (
        f"Consider $f(x) = {a}x^2 + {b}x + {c}$. Differentiating gives $f'(x) = {2 * a}x + {b}$, "
        f"so the vertex sits at $x = -\\frac{{{b}}}{{{2 * a}}}$.\n\nWe check the discriminant "
        f"$\\Delta = {b}^2 - 4 \\cdot {a} \\cdot {c} = {b * b - 4 * a * c}$ and conclude."
    )


def prose(rng: random.Random, n: int = 60) -> str:
    return " ".join(rng.choice(EVERYDAY) for _ in range(n)).capitalize() + "."


def clean_pages(champ, rng: random.Random, index: bi.BenchmarkIndex) -> list[str]:
    """Generated pages, and pages of the non-benchmark CHAMP problems. Some CHAMP problems are
    variants of one another and share 10-grams; the naive rule leaves those out."""
    pages = []
    for p in champ[1]:
        steps = " ".join(step.text for step in p.solution.steps)
        pages.append(f"Exercise. {p.text}\n\nSolution sketch: {steps}")
    pages = [page for page in pages if not reference(index, page)]
    assert len(pages) >= 100
    return pages + [latex_page(rng) for _ in range(100)] + [prose(rng) for _ in range(100)]


def leak_pages(champ, rng: random.Random) -> list[tuple[str, str]]:
    """(page, benchmark id) for pages that embed a benchmark problem, whole or in part."""
    pages = []
    for p in champ[0]:
        words = bi.words(p.text)
        if len(words) < 14:
            continue  # short statements are covered by the whole-copy pages
        start = rng.randrange(0, len(words) - 12)
        part = " ".join(words[start : start + 12]).capitalize()
        pages.append((f"{prose(rng, 20)}\n\nProblem 3. {p.text.upper()}\n\n{prose(rng, 20)}", p))
        pages.append((f"{prose(rng, 15)} As the book puts it: “{part}” — {prose(rng, 10)}", p))
        spaced = re.sub(r"\s+", "\n  ", p.text).replace("$", "\\(")
        pages.append((f"Forum post #{rng.randint(1, 999)}:\n{spaced}\nAny hints?", p))
    return [(page, p.identifier) for page, p in pages]


def reference(index: bi.BenchmarkIndex, text: str) -> bool:
    """The naive rule: any shared 10-gram, or a short benchmark text as a whole word run."""
    words = tuple(bi.words(text))
    grams = {words[i : i + n] for n in range(3, 11) for i in range(len(words) - n + 1)}
    for bench in index.texts:
        tokens = tuple(bench.decode().split())
        if len(tokens) < 10 and tokens in grams:
            return True
        if any(tokens[i : i + 10] in grams for i in range(len(tokens) - 9)):
            return True
    return False


@pytest.fixture(scope="module")
def corpus(champ, index):
    rng = random.Random(7)
    clean = clean_pages(champ, rng, index)
    leaks = leak_pages(champ, rng)
    short = [f"Warm-up: please {SHORT[0]} before lunch.", f"Q: {SHORT[1].lower()}"]
    near_short = ["please compute the sum of 2 and 33", "is 1001 a prime", "compute the sum of 2"]
    return clean, leaks, short, near_short


def run_step(step: Decontaminate, texts: list[str]) -> tuple[list[Document], list[Document]]:
    docs = [Document(text, str(i)) for i, text in enumerate(texts)]
    kept = list(step.run(iter(docs)))
    kept_ids = {d.id for d in kept}
    return kept, [d for d in docs if d.id not in kept_ids]


# -- normalisation and the index --------------------------------------------------------------
def test_scanner_agrees_with_reference_tokenizer():
    rng = random.Random(0)
    alphabet = "aZ09 _\n\t.,'’—\u00a0\u0301éİΣσ½²①\\{}$ﬁＡ\ud800\x00ǅß😀𝑥数क्ष\u2028"
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(3000)]
    scan = bi.scan([bi.normalize(t) for t in texts])
    spans = list(zip(scan.starts.tolist(), scan.ends.tolist(), strict=True))
    for d, text in enumerate(texts):
        mine = [scan.buf[a:b].decode() for a, b in spans[scan.first[d] : scan.first[d + 1]]]
        assert mine == bi.words(text), text


def test_normalisation_examples():
    assert bi.words(r"Let $x_1 = \frac{1}{2}$, DON'T") == [
        "let",
        "x",
        "1",
        "frac",
        "1",
        "2",
        "don",
        "t",
    ]
    assert bi.words("Ｆｉｎｄ the ﬁrst") == ["find", "the", "first"]


def test_index_keeps_provenance_and_skips_short_texts(bench_file, champ, index):
    built = bi.build([bench_file])
    assert len(index) == len(champ[0]) + len(SHORT)
    assert index.items[0] == bi.Item(str(bench_file), champ[0][0].identifier)
    assert index.items[-1].id == f"line {len(champ[0]) + len(SHORT)}"
    assert built.notes == ()
    two = bench_file.parent / "two.jsonl"
    two.write_text('{"question": "x y"}\nnot json\n{"text": "three words here"}\n[1]\n')
    notes = bi.build([two]).notes
    assert "malformed record" in notes[0] and "fewer than 3 words" in notes[0]
    assert "not a JSON object" in notes[0]


def test_index_save_load_roundtrip(tmp_path, index):
    path = tmp_path / "bench.idx"
    index.save(path)
    loaded = bi.load(path)
    assert loaded.items == index.items and loaded.texts == index.texts
    assert loaded.ngram_count == index.ngram_count
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="not a benchmark index"):
        bi.load(tmp_path / "junk.npz")
    with pytest.raises(InputError, match="no such"):
        bi.load(tmp_path / "missing.npz")


def test_unusable_benchmark_file_is_an_input_error(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"answer": "42"}\n')
    with pytest.raises(InputError, match="no text of 3 or more words"):
        bi.build([bad])


def test_shipped_champ_index_catches_a_champ_problem():
    index = bi.load(bi.SHIPPED)
    assert len(index) == 270 and {item.source for item in index.items} == {"champ-v0"}
    problem = champ_dataset.load("v0").problems["P_Inequality_2"]
    [matches] = index.find([f"Copied from a forum: {problem.text} Thanks!"])
    assert "P_Inequality_2" in {index.items[m.item].id for m in matches}


# -- the step -----------------------------------------------------------------------------
def test_every_planted_leak_is_caught_and_clean_pages_kept(index, corpus):
    clean, leaks, short, near_short = corpus
    texts = clean + [page for page, _ in leaks] + short + near_short
    kept, dropped = run_step(Decontaminate(index, batch_size=64), texts)
    dropped_texts = {d.text for d in dropped}
    assert not dropped_texts & set(clean)  # no false removals on the clean corpus
    assert all(page in dropped_texts for page, _ in leaks)  # every planted leak caught
    assert set(short) <= dropped_texts  # short benchmark texts, whole
    assert not dropped_texts & set(near_short)  # partial or different last word: not a match
    assert len(kept) == len(clean) + len(near_short)
    # the step agrees with the naive rule on every page
    assert all((text in dropped_texts) == reference(index, text) for text in texts)


def test_each_removal_names_its_benchmark_item(index, corpus, bench_file, champ):
    _, leaks, short, _ = corpus
    step = Decontaminate(index)
    _, dropped = run_step(step, [page for page, _ in leaks] + short)
    short_lines = [f"line {len(champ[0]) + k}" for k in (1, 2)]  # SHORT[0], SHORT[1]
    expected = [bid for _, bid in leaks] + short_lines
    for doc, bench_id in zip(dropped, expected, strict=True):
        matches = doc.metadata["decontamination"]["matches"]
        assert bench_id in {m["id"] for m in matches}
        assert all(m["benchmark"] == str(bench_file) and m["ngram"] for m in matches)
    stats = step.stats.stats
    assert stats["dropped_contaminated"].total == len(dropped)
    assert stats[f"contaminated_{bench_file}"].total == len(dropped)


def test_segment_mode_removes_only_matching_paragraphs(index, champ):
    problem = champ[0][3].text
    half = len(problem) // 2
    cut = problem.rfind(" ", 0, half)
    texts = [
        f"Intro paragraph.\n\nHomework: {problem}\n\nOutro with words.",
        f"First.\n\n{problem[:cut]}\n\n{problem[cut:]}\n\nLast words here.",
        f"{problem}\n\n  \n$$ $$",
    ]
    step = Decontaminate(index, "segment")
    kept, dropped = run_step(step, texts)
    assert [d.text for d in kept] == [
        "Intro paragraph.\n\nOutro with words.",
        "First.\n\nLast words here.",
    ]
    assert kept[0].metadata["decontamination"]["removed_segments"] == [1]
    assert kept[1].metadata["decontamination"]["removed_segments"] == [1, 2]
    assert (
        "ngram" not in kept[0].metadata["decontamination"]["matches"][0]
    )  # no benchmark text kept
    assert [d.metadata["decontamination"]["matches"][0]["id"] for d in dropped] == [
        champ[0][3].identifier
    ]
    assert step.stats.stats["cleaned"].total == 2
    assert step.stats.stats["segments_removed"].total == 3


def test_segment_lines_mode(index, champ):
    problem = champ[0][5].text.replace("\n", " ")
    kept, _ = run_step(
        Decontaminate(index, "segment", segments="line"), [f"a b c\n{problem}\nd e f"]
    )
    assert kept[0].text == "a b c\nd e f"


def test_bad_documents_are_counted_never_fatal(index):
    docs = [
        Document(None, "none"),
        Document(123, "int"),
        Document("", "empty"),
        Document("   \n ", "blank"),
        Document("word " * 300, "huge"),
        Document("fine text \ud800 with a lone surrogate", "surrogate"),
    ]
    step = Decontaminate(index, max_chars=1000)
    kept = list(step.run(iter(docs)))
    assert [d.id for d in kept] == ["empty", "blank", "surrogate"]
    stats = step.stats.stats
    assert stats["dropped_bad_text"].total == 2
    assert stats["dropped_too_large"].total == 1
    assert stats["empty"].total == 2


def test_batched_stats_equal_per_document_updates(index):
    from datatrove.utils.stats import MetricStats

    docs = [Document("word " * k, str(k)) for k in range(1, 40)]
    step = Decontaminate(index, batch_size=7)
    kept = list(step.run(iter(docs)))
    reference = MetricStats()
    for doc in kept:
        reference.update(len(doc.text))
    got = step.stats.stats["doc_len"]
    assert (got.total, got.n, got.min, got.max) == (reference.total, 39, 5, 195)
    assert got.mean == pytest.approx(reference.mean)
    assert got.variance == pytest.approx(reference.variance)
    assert step.stats.stats["total"].to_dict() == 39 == step.stats.stats["forwarded"].to_dict()


def test_bad_config_is_an_input_error(index, tmp_path):
    with pytest.raises(InputError, match="unknown mode"):
        Decontaminate(index, "paragraph")
    with pytest.raises(InputError, match="no such benchmark index"):
        Decontaminate(tmp_path / "missing.npz")


def test_filter_api(index, champ):
    step = Decontaminate(index)
    assert step.filter(Document("nothing here", "a")) is True
    assert step.filter(Document(champ[0][0].text, "b")) == (False, "contaminated")


def test_windows_never_span_two_documents(index, champ):
    words = bi.words(champ[0][0].text)
    halves = [" ".join(words[:5]), " ".join(words[5:10])]
    assert index.find(halves) == [[], []]
    assert index.find([" ".join(words[:10])])[0]


class ListWriter:
    """A stand-in exclusion writer that keeps what it is given."""

    def __init__(self):
        self.docs: list[Document] = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def write(self, doc: Document, rank: int = 0) -> None:
        self.docs.append(doc)


def test_exclusion_writer_gets_dropped_documents_and_removed_segments(index, champ):
    problem = champ[0][2].text
    writer = ListWriter()
    step = Decontaminate(index, "segment", exclusion_writer=writer)
    texts = [f"Keep this.\n\n{problem}", problem, "clean words"]
    kept, _ = run_step(step, texts)
    assert [d.text for d in kept] == ["Keep this.", "clean words"]
    assert [(d.id, d.metadata["filter_reason"]) for d in writer.docs] == [
        ("0", "contaminated_segments"),
        ("1", "contaminated"),
    ]
    assert writer.docs[0].text == problem
    assert writer.docs[0].metadata["decontamination"]["matches"][0]["ngram"]


# -- the command --------------------------------------------------------------------------
def write_jsonl(path: Path, texts: list[str]) -> None:
    rows = [{"url": f"https://example.org/{i}", "text": t} for i, t in enumerate(texts)]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def test_cli_document_mode(tmp_path, bench_file, corpus):
    clean, leaks, _, _ = corpus
    src, dst, removed = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "removed.jsonl"
    write_jsonl(src, clean[:20] + [page for page, _ in leaks[:5]])
    with src.open("a") as handle:
        handle.write('not json\n[1, 2]\n{"url": "x", "text": 7}\n')
    with src.open("ab") as handle:
        handle.write(b'{"url": "latin-1", "text": "caf\xe9 au lait"}\n')
    args = ["data", "decontaminate", str(src), str(dst), "--benchmark", str(bench_file)]
    result = CliRunner().invoke(main, [*args, "--removed", str(removed)])
    assert result.exit_code == 0, result.output
    # bad lines are counted with the reasons every corpus stage uses (and skipped)
    for reason in ("invalid_json 1", "not_an_object 1", "text_not_str 1", "invalid_utf8 1"):
        assert reason in result.output
    assert "contaminated 5" in result.output
    out = [json.loads(line) for line in dst.read_text().splitlines()]
    assert [r["text"] for r in out] == clean[:20]
    assert out[0]["url"] == "https://example.org/0"
    gone = [json.loads(line) for line in removed.read_text().splitlines()]
    assert [r["filter_reason"] for r in gone] == ["contaminated"] * 5
    assert gone[0]["decontamination"]["matches"][0]["id"] == leaks[0][1]


def test_cli_segment_mode_with_saved_index(tmp_path, bench_file, champ):
    src, dst, idx = tmp_path / "in.jsonl", tmp_path / "out.jsonl", tmp_path / "b.npz"
    write_jsonl(src, [f"Keep me.\n\n{champ[0][1].text}"])
    base = ["data", "decontaminate", str(src), str(dst)]
    result = CliRunner().invoke(main, [*base, "-b", str(bench_file), "--save-index", str(idx)])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(main, [*base, "--index", str(idx), "--mode", "segment"])
    assert result.exit_code == 0, result.output
    assert json.loads(dst.read_text())["text"] == "Keep me."
    assert "cleaned 1, segments_removed 1" in result.output


def test_cli_user_errors(tmp_path, bench_file):
    src = tmp_path / "in.jsonl"
    write_jsonl(src, ["hello"])
    base = ["data", "decontaminate", str(src), str(tmp_path / "out.jsonl")]
    result = CliRunner().invoke(main, base)
    assert result.exit_code == 2 and "--benchmark" in result.output
    result = CliRunner().invoke(main, [*base, "--index", str(tmp_path / "nope.npz")])
    assert result.exit_code == 2 and "no such benchmark index" in result.output
    missing = ["data", "decontaminate", str(tmp_path / "no.jsonl"), str(tmp_path / "o.jsonl")]
    result = CliRunner().invoke(main, [*missing, "-b", str(bench_file)])
    assert result.exit_code == 2 and "file not found" in result.output


# -- the pipeline under datatrove's local executor ----------------------------------------------
def test_local_executor_two_workers(tmp_path, index, corpus):
    pytest.importorskip("orjson")
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter

    clean, leaks, _, _ = corpus
    index_path = tmp_path / "bench.npz"
    index.save(index_path)
    pages = clean[:60] + [page for page, _ in leaks[:20]]
    random.Random(3).shuffle(pages)
    (tmp_path / "in").mkdir()
    write_jsonl(tmp_path / "in" / "a.jsonl", pages[:40])
    write_jsonl(tmp_path / "in" / "b.jsonl", pages[40:])
    executor = LocalPipelineExecutor(
        [
            JsonlReader(str(tmp_path / "in")),
            Decontaminate(
                index_path,
                exclusion_writer=JsonlWriter(str(tmp_path / "removed"), compression=None),
            ),
            JsonlWriter(str(tmp_path / "out"), compression=None),
        ],
        tasks=2,
        workers=2,
        logging_dir=str(tmp_path / "logs"),
    )
    executor.run()
    out = [json.loads(line) for f in (tmp_path / "out").glob("*.jsonl") for line in f.open()]
    gone = [json.loads(line) for f in (tmp_path / "removed").glob("*.jsonl") for line in f.open()]
    assert sorted(r["text"] for r in out) == sorted(clean[:60])
    assert sorted(r["text"] for r in gone) == sorted(page for page, _ in leaks[:20])
    assert all(r["metadata"]["decontamination"]["matches"] for r in gone)
    stats = json.loads((tmp_path / "logs" / "stats.json").read_text())
    step_stats = next(s["stats"] for s in stats if "Decontaminate" in s["name"])
    assert step_stats["dropped_contaminated"] == 20
