"""The dedup stage: URL and text keys, MinHash near-dedup recall on a planted corpus, bad
records, `prover data dedup` through CliRunner, and the 4-stage pipeline under
LocalPipelineExecutor with 2 workers, interrupted and resumed."""

from __future__ import annotations

import gzip
import json
import random
import re
import time
from collections import Counter
from pathlib import Path

import champ_dataset
import numpy as np
import pytest
from click.testing import CliRunner
from datatrove.data import Document
from datatrove.executor.local import LocalPipelineExecutor
from datatrove.pipeline.base import PipelineStep

from prover.cli import main
from prover.errors import InputError
from verifier_train.data import jsonl
from verifier_train.data.dedup import (
    RecordReader,
    dedup_file,
    dedup_pipelines,
    merge_removed,
    record_of,
)
from verifier_train.data.dedup_exact import normalize_text, normalize_url, stable_hash64, text_key
from verifier_train.data.dedup_minhash import (
    MinhashDedup,
    NearDedupConfig,
    shingle_hashes,
    signatures,
)

WORD = re.compile(r"[a-z0-9_\u0080-\U0010ffff]+")
THRESHOLD = 0.8  # the LSH design point of 16 bands x 8 rows: recall >= 0.95 above it


def words_of(text: str) -> list[str]:
    """The shingler's words, written the slow way (the test's reference)."""
    return WORD.findall(text.lower())


def jaccard(a: str, b: str, n: int = 5) -> float:
    sa, sb = ({tuple(w[i : i + n]) for i in range(len(w) - n + 1)} for w in map(words_of, (a, b)))
    return len(sa & sb) / len(sa | sb)


def explanation(rng: random.Random) -> str:
    """Generated LaTeX-flavoured working, different numbers and symbols every time."""
    parts = []
    for _ in range(rng.randint(8, 12)):
        a, b, c = rng.randint(2, 999), rng.randint(2, 999), rng.choice("xyznkmpq")
        parts.append(
            rng.choice(
                [
                    f"Substituting ${c} = {a}$ gives ${c}^2 + {b} = {a * a + b}$.",
                    f"Since $\\gcd({a}, {b}) = {np.gcd(a, b)}$, the fraction "
                    f"$\\frac{{{a}}}{{{b}}}$ reduces step {rng.randint(1, 99)}.",
                    f"We sum ${c}_i$ for $i \\le {a}$ and obtain {a * b} in case {b}.",
                    f"Hence $\\sqrt{{{a * a}}} = {a}$ and ${c} \\equiv {a % 7} \\pmod 7$.",
                ]
            )
        )
    return " ".join(parts)


def other_page(rng: random.Random, vocab: list[str]) -> str:
    return " ".join(rng.choice(vocab) for _ in range(rng.randint(150, 220))) + "."


def variant(url: str) -> str:
    """The same page's URL as another link writes it."""
    site, path = url.removeprefix("https://").split("/", 1)
    return f"HTTP://{site.upper()}:80/{path}/?utm_source=news&fbclid=1#top"


def edit(text: str, rng: random.Random, edits: int) -> str:
    words = text.split()
    for _ in range(edits):
        at = rng.randrange(len(words))
        words[at] = rng.choice(["lemma", "thus", "clearly", "note", str(rng.randint(0, 9999))])
    return " ".join(words)


@pytest.fixture(scope="module")
def corpus() -> dict:
    """Originals first (math pages from champ + generated working, other pages), then
    planted near-duplicates, exact copies under new URLs and URL variants."""
    rng = random.Random(7)
    problems = champ_dataset.load("v0").problems.values()
    math = [
        f"{p.text} " + " ".join(s.text for s in p.solution.steps) + " " + explanation(rng)
        for p in problems
    ]
    vocab = [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(2, 9))) for _ in range(4000)
    ]
    texts = math + [other_page(rng, vocab) for _ in range(150)]
    records = [
        {"text": t, "url": f"https://site{i % 40}.org/page/{i}"} for i, t in enumerate(texts)
    ]
    originals = len(records)
    near, sources = [], rng.sample(range(originals), 60)
    for k, s in enumerate(sources):
        edits = max(1, len(texts[s].split()) // 50)  # a 5-shingle Jaccard of about 0.85
        text = edit(records[s]["text"], rng, edits)
        near.append({"text": text, "url": f"http://mirror.net/near/{k}", "source": s})
    copies = [
        {"text": records[s]["text"], "url": f"http://copies.net/{k}", "source": s}
        for k, s in enumerate(rng.sample(range(originals), 40))
    ]
    variants = [
        {
            "text": f"page {k} " + other_page(rng, vocab),
            "url": variant(records[s]["url"]),
            "source": s,
        }
        for k, s in enumerate(rng.sample(range(originals), 20))
    ]
    return {
        "records": records + near + copies + variants,
        "originals": originals,
        "near": near,
        "copies": copies,
        "variants": variants,
    }


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def deduped(corpus, tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("dedup")
    src = write_jsonl(
        tmp / "in.jsonl", [{k: v for k, v in r.items() if k != "source"} for r in corpus["records"]]
    )
    counts = dedup_file(src, tmp / "out.jsonl", removed=tmp / "removed.jsonl")
    return {
        "counts": counts,
        "kept": read_jsonl(tmp / "out.jsonl"),
        "removed": read_jsonl(tmp / "removed.jsonl"),
        "src": src,
    }


def line_of(record: dict) -> int:
    return int(record["id"].rsplit(":", 1)[1]) - 1


# --- keys ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("HTTP://Example.COM:80/a/b/", "http://example.com/a/b"),
        ("https://example.com:443/a/b#section", "http://example.com/a/b"),
        ("http://example.com/a?utm_source=x&utm_medium=y&b=2&a=1", "http://example.com/a?a=1&b=2"),
        ("http://example.com/?fbclid=abc&gclid=d", "http://example.com/"),
        ("http://example.com", "http://example.com/"),
        ("example.com/path/", "http://example.com/path"),
        ("http://example.com:8080/x/./y/../z", "http://example.com:8080/x/z"),
        ("http://example.com/%7euser/%2f", "http://example.com/~user/%2F"),
        ("http://user:pw@Example.com./a", "http://example.com/a"),
        ("ftp://Files.Example.com/pub/", "ftp://files.example.com/pub"),
    ],
)
def test_normalize_url(url, normal):
    assert normalize_url(url) == normal


@pytest.mark.parametrize("url", ["", "   ", "http://[::1", "http://:80/"])
def test_unusable_urls_have_no_key(url):
    assert normalize_url(url) is None


def test_text_key_ignores_case_and_whitespace_only():
    assert text_key("Hello\n  World\u00a0!") == text_key("hello world !")
    assert text_key("ﬁne") == text_key("FINE")  # NFKC + case folding
    assert text_key("hello world.") != text_key("hello world")
    assert text_key("  \n") == 0
    assert normalize_text(" A\tb ") == "a b"


def test_hashes_are_stable():
    assert stable_hash64("http://example.com/") == 0x06AD9D0C164122FB  # blake2b, no salt
    one, _ = shingle_hashes(["Alpha beta gamma delta epsilon zeta"], 5)
    two, offsets = shingle_hashes(
        ["unrelated words here", "ALPHA beta, gamma delta epsilon zeta"], 5
    )
    assert one.tolist() == two[offsets[1] :].tolist()
    assert len(one) == 2


def test_signature_does_not_depend_on_the_batch():
    texts = ["one two three four five six seven", "", "a b", "x " * 3000]
    config = NearDedupConfig(batch_bytes=8)
    alone = np.stack([signatures([t], config)[0] for t in texts])
    assert np.array_equal(signatures(texts, NearDedupConfig()), alone)
    assert (alone[1] == 0xFFFFFFFF).all()  # no words, no signature


def test_config_errors_are_input_errors():
    with pytest.raises(InputError):
        NearDedupConfig(bands=20, rows=8, hashes=128)
    with pytest.raises(InputError):
        NearDedupConfig(shingle=0)


# --- the planted corpus -------------------------------------------------------------------


def test_exact_copies_under_other_urls_are_all_removed(corpus, deduped):
    removed = {line_of(r): r for r in deduped["removed"]}
    first = len(corpus["records"]) - len(corpus["copies"]) - len(corpus["variants"])
    for k, copy in enumerate(corpus["copies"]):
        record = removed[first + k]
        assert record["filter_reason"] == "duplicate_text"
        assert record["kept_id"] == f"in.jsonl:{copy['source'] + 1}"


def test_url_variants_are_removed_by_url(corpus, deduped):
    removed = {line_of(r): r for r in deduped["removed"]}
    first = len(corpus["records"]) - len(corpus["variants"])
    for k, variant in enumerate(corpus["variants"]):
        assert removed[first + k]["filter_reason"] == "duplicate_url"
        assert removed[first + k]["duplicate_of"] == f"in.jsonl:{variant['source'] + 1}"


def test_near_duplicates_recall_and_no_false_removals(corpus, deduped):
    removed = {line_of(r): r for r in deduped["removed"]}
    start = corpus["originals"]
    similar = [
        (start + k, near)
        for k, near in enumerate(corpus["near"])
        if jaccard(near["text"], corpus["records"][near["source"]]["text"]) >= THRESHOLD
    ]
    assert len(similar) >= 40
    found = [i for i, _ in similar if i in removed]
    assert len(found) / len(similar) >= 0.95
    for i, near in similar:
        if i in removed:
            assert removed[i]["kept_id"] == f"in.jsonl:{near['source'] + 1}"
    assert [i for i in removed if i < start] == []  # no original page is removed


def test_stage_counts_add_up(corpus, deduped):
    counts = {c.name: c for c in deduped["counts"]}
    assert counts["read"].docs_in == counts["read"].docs_out == len(corpus["records"])
    assert counts["url dedup"].removed == {"duplicate_url": len(corpus["variants"])}
    assert counts["text dedup"].removed == {"duplicate_text": len(corpus["copies"])}
    previous = counts["read"].docs_out
    for stage in deduped["counts"][1:]:
        assert stage.docs_in == previous
        assert stage.docs_in - stage.docs_out == sum(stage.removed.values())
        previous = stage.docs_out
    assert previous == len(deduped["kept"])
    assert len(deduped["kept"]) + len(deduped["removed"]) == len(corpus["records"])


def test_minhash_step_keeps_the_first_of_a_cluster():
    base = " ".join(f"word{i}" for i in range(100))
    docs = [
        Document(text=t, id=str(i))
        for i, t in enumerate(["zz " + base, base, base + " end", "other " * 50])
    ]
    step = MinhashDedup(NearDedupConfig())
    kept = [d.id for d in step.run(iter(docs))]
    assert kept == ["0", "3"]
    assert step.stats["dropped_near_duplicate"].total == 2


# --- bad input ----------------------------------------------------------------------------


def test_bad_records_are_counted_not_fatal(tmp_path):
    src = tmp_path / "bad.jsonl"
    good = {"text": "a fine page about primes and their gaps", "url": "http://a.org/1"}
    lines = [
        json.dumps(good),
        json.dumps({"text": "", "url": "http://a.org/2"}),
        json.dumps({"text": "   \n", "url": "http://a.org/3"}),
        json.dumps({"text": 42, "url": "http://a.org/4"}),
        json.dumps({"text": ["list"], "url": "http://a.org/5"}),
        json.dumps({"url": "http://a.org/6"}),
        json.dumps({"text": "no url at all, kept"}),
        json.dumps({"text": "x" * 500, "url": "http://a.org/7"}),
        '{"text": "truncated',
        "[1, 2, 3]",
        "",
    ]
    src.write_bytes("\n".join(lines).encode() + b'\n{"text": "caf\xe9"}\n')
    counts = dedup_file(src, tmp_path / "out.jsonl", max_chars=400)
    read = counts[0]
    assert read.removed == {
        "empty_text": 2,
        "text_not_str": 2,
        "missing_text": 1,
        "huge_text": 1,
        "invalid_json": 1,
        "not_an_object": 1,
        "invalid_utf8": 1,
    }
    assert read.docs_out == 2 and read.notes == {"missing_url": 1}
    assert [r["text"] for r in read_jsonl(tmp_path / "out.jsonl")] == [
        good["text"],
        "no url at all, kept",
    ]


@pytest.mark.parametrize("parser", ["orjson", "json"])
def test_corpus_records_count_the_same_reasons_with_either_parser(tmp_path, monkeypatch, parser):
    """The one JSONL reader of the corpus code (and of pretraining, which may run without
    orjson): gzip by name, blank lines skipped, bad lines counted by reason."""
    monkeypatch.setattr(jsonl, "loads", __import__(parser).loads)
    lines = [b'{"text": "ok", "id": 1}', b"", b'{"text": "caf\xe9"}', b"{oops", b"[1]", b"{}"]
    lines += [b'{"text": 5}', b'{"text": " "}', b'{"text": "' + b"x" * 20 + b'"}']
    path = tmp_path / "in.jsonl.gz"
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    bad: Counter = Counter()
    assert list(jsonl.corpus_records(path, 10, bad)) == [(1, {"text": "ok", "id": 1})]
    assert bad == {"invalid_json": 1, "invalid_utf8": 1, "not_an_object": 1, "missing_text": 1,
                   "text_not_str": 1, "empty_text": 1, "huge_text": 1}  # fmt: skip
    assert [n for n, _ in jsonl.corpus_records(path, None)] == [1, 9]  # no length limit


def test_empty_input_gives_empty_output(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [])
    counts = dedup_file(src, tmp_path / "out.jsonl")
    assert (tmp_path / "out.jsonl").read_text() == ""
    assert all(c.docs_out == 0 for c in counts)


def test_only_the_named_file_is_read(tmp_path):
    folder = tmp_path / "odd [dir]"
    folder.mkdir()
    src = write_jsonl(folder / "in*.jsonl", [{"text": "the page", "url": "http://a.org/"}])
    write_jsonl(folder / "bin*.jsonl", [{"text": "a sibling file", "url": "http://b.org/"}])
    counts = dedup_file(src, tmp_path / "out.jsonl")
    assert counts[0].docs_in == 1
    assert read_jsonl(tmp_path / "out.jsonl") == [
        {"id": "in*.jsonl:1", "text": "the page", "url": "http://a.org/"}
    ]


def test_removed_chain_ends_at_a_kept_document(tmp_path):
    (tmp_path / "url_00000.jsonl").write_text('{"id": "b", "duplicate_of": "a"}\n')
    (tmp_path / "near_00000.jsonl").write_text('{"id": "a", "duplicate_of": "k"}\n')
    merge_removed(list(tmp_path.glob("*.jsonl")), tmp_path / "all.jsonl")
    assert [r["kept_id"] for r in read_jsonl(tmp_path / "all.jsonl")] == ["k", "k"]


# --- CLI ----------------------------------------------------------------------------------


def test_cli_dedup(corpus, deduped, tmp_path):
    out, removed = tmp_path / "out.jsonl", tmp_path / "removed.jsonl"
    args = ["data", "dedup", str(deduped["src"]), str(out), "--removed", str(removed)]
    result = CliRunner().invoke(main, [*args, "--workdir", str(tmp_path / "work")])
    assert result.exit_code == 0, result.output
    assert re.search(r"^url dedup\s+\d+\s+\d+\s+20\s+duplicate_url 20", result.output, re.M)
    assert re.search(r"^text dedup\s+\d+\s+\d+\s+40\s+duplicate_text 40", result.output, re.M)
    assert "near_duplicate" in result.output
    assert read_jsonl(out) == deduped["kept"]
    assert len(read_jsonl(removed)) == len(deduped["removed"])
    assert (tmp_path / "work" / "prover-dedup" / "logs" / "stats.json").exists()


def test_cli_user_errors_are_one_line(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(
        main, ["data", "dedup", str(tmp_path / "no.jsonl"), str(tmp_path / "o.jsonl")]
    )
    assert missing.exit_code == 2 and "no such file" in missing.output
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": "t", "url": "u"}])
    bad = runner.invoke(
        main, ["data", "dedup", str(src), str(tmp_path / "o.jsonl"), "--bands", "32"]
    )
    assert bad.exit_code == 2
    assert bad.output.strip().splitlines() == [
        "Error: need bands x rows <= hashes, got 32 x 8 > 128"
    ]
    same = runner.invoke(main, ["data", "dedup", str(src), str(src)])
    assert same.exit_code == 2 and "overwrite" in same.output


# --- many ranks under LocalPipelineExecutor -----------------------------------------------


class Interrupt(PipelineStep):
    """Kills rank 1 partway through its first run (until `marker` exists), once rank 0 is done
    (a failing task makes the pool stop the others)."""

    name = "interrupt"

    def __init__(self, marker: str, rank0_done: str):
        super().__init__()
        self.marker, self.rank0_done = marker, rank0_done

    def run(self, data, rank: int = 0, world_size: int = 1):
        for position, doc in enumerate(data):
            if rank == 1 and position == 25 and not Path(self.marker).exists():
                deadline = time.monotonic() + 60
                while not Path(self.rank0_done).exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
                Path(self.marker).touch()
                raise RuntimeError("interrupted")
            yield doc


def run_stages(root: Path, interrupt: str) -> None:
    from datatrove.pipeline.writers.jsonl import JsonlWriter

    writer = JsonlWriter(str(root / "out"), compression=None, adapter=record_of)
    removed = JsonlWriter(str(root / "removed"), compression=None, adapter=record_of)
    reader = RecordReader(str(root / "in"))
    stages = dedup_pipelines(reader, writer, str(root / "work"), exclusion_writer=removed)
    stages[0].insert(1, Interrupt(interrupt, str(root / "logs" / "0" / "completions" / "00000")))
    executor = None
    for number, (pipeline, tasks) in enumerate(zip(stages, (2, 2, 1, 2), strict=True)):
        logs = str(root / "logs" / str(number))
        executor = LocalPipelineExecutor(pipeline, tasks, min(tasks, 2), logs, depends=executor)
    executor.run()


def test_four_stages_two_workers_resume_and_match_one_rank(corpus, deduped, tmp_path):
    records = [{k: v for k, v in r.items() if k != "source"} for r in corpus["records"]]
    for i, r in enumerate(records):
        r["id"] = f"in.jsonl:{i + 1}"  # the single-rank run's ids
    (tmp_path / "in").mkdir()
    half = len(records) // 2
    write_jsonl(tmp_path / "in" / "a.jsonl", records[:half])
    write_jsonl(tmp_path / "in" / "b.jsonl", records[half:])
    marker = str(tmp_path / "interrupted")
    with pytest.raises(RuntimeError, match="interrupted"):
        run_stages(tmp_path, marker)
    completions = tmp_path / "logs" / "0" / "completions"
    assert sorted(p.name for p in completions.iterdir()) == ["00000"]
    rank0 = tmp_path / "work" / "signatures" / "sigs" / "00000.bin"
    stamp = rank0.stat().st_mtime_ns
    run_stages(tmp_path, marker)
    assert rank0.stat().st_mtime_ns == stamp  # rank 0 was not redone
    assert sorted(p.name for p in completions.iterdir()) == ["00000", "00001"]
    kept = [r for f in sorted((tmp_path / "out").glob("*.jsonl")) for r in read_jsonl(f)]
    assert [r["id"] for r in kept] == [r["id"] for r in deduped["kept"]]
    fields = ("id", "filter_reason", "duplicate_of", "similarity")
    removed = [r for f in sorted((tmp_path / "removed").glob("*.jsonl")) for r in read_jsonl(f)]
    assert sorted(tuple(map(r.get, fields)) for r in removed) == sorted(
        tuple(map(r.get, fields)) for r in deduped["removed"]
    )
