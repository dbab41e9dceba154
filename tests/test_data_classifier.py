"""The math classifier, recall and discovery: a synthetic corpus of champ problems with
generated LaTeX working against generated cooking, sports and news pages; held-out F1, the
`MathRecall` datatrove step (threshold and token budget), domain and URL-path discovery of
a planted math site, and the `prover data` commands through CliRunner."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

pytest.importorskip("fasttext")
import champ_dataset  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from datatrove.data import Document  # noqa: E402

from prover.cli import main  # noqa: E402
from prover.cli.data import data  # noqa: E402
from prover.cli.data_classify import classify, discover, train_classifier  # noqa: E402
from prover.errors import InputError  # noqa: E402
from verifier_train.data.classifier import (  # noqa: E402
    SCORE_KEY,
    ClassifierConfig,
    MathClassifier,
    MathRecall,
    budget_cutoff,
    fasttext_line,
)
from verifier_train.data.classifier import (
    train_classifier as train_model,
)
from verifier_train.data.discovery import (  # noqa: E402
    DiscoveryConfig,
    is_seed,
    math_paths,
    path_prefixes,
)
from verifier_train.data.discovery import (
    discover as discover_domains,
)

for _command in (classify, train_classifier, discover):
    if _command.name not in data.commands:
        data.add_command(_command)

TOPICS = {
    "cooking": "recipe oven flour butter garlic simmer bake onion sauce pepper dough salad "
    "chicken roast tomato basil minutes bowl whisk skillet dinner",
    "sports": "match goal team coach season league striker referee stadium fans victory "
    "defeat tournament playoff championship injury transfer captain",
    "news": "government minister election police city council report weather storm market "
    "company announced officials residents spokesperson protest",
}
BUCKET = 100_000  # not fastText's 2M: a 2 GB model and 10 s per training
FILLER = "the a and of to in on with for was is it this that at by from after they their"


def explanation(rng: random.Random) -> str:
    """Generated LaTeX working with fresh numbers and symbols."""
    parts = []
    for _ in range(rng.randint(4, 8)):
        a, b, c = rng.randint(2, 99), rng.randint(2, 99), rng.choice("xyznkmpq")
        parts.append(
            rng.choice(
                [
                    f"Substituting ${c} = {a}$ gives ${c}^2 + {b} = {a * a + b}$.",
                    f"Hence the fraction $\\frac{{{a}}}{{{b}}}$ simplifies and we conclude.",
                    f"We sum ${c}_i$ for $i \\le {a}$, so the total is {a * b} by induction.",
                    f"Thus $\\sqrt{{{a * a}}} = {a}$ and ${c} \\equiv {a % 7} \\pmod 7$.",
                ]
            )
        )
    return " ".join(parts)


def other_page(rng: random.Random) -> str:
    words = TOPICS[rng.choice(sorted(TOPICS))].split() + FILLER.split()
    return " ".join(rng.choice(words) for _ in range(rng.randint(60, 140))) + "."


def math_pages(rng: random.Random) -> list[str]:
    problems = champ_dataset.load("v0").problems.values()
    return [
        f"{p.text} " + " ".join(s.text for s in p.solution.steps) + " " + explanation(rng)
        for p in problems
    ]


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[str]]:
    rng = random.Random(3)
    return {"math": math_pages(rng), "other": [other_page(rng) for _ in range(300)]}


@pytest.fixture(scope="module")
def model(corpus, tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("model") / "math.bin"
    metrics = train_model(
        corpus["math"], corpus["other"], out, ClassifierConfig(holdout=0.2, bucket=BUCKET)
    )
    return out, metrics


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_fasttext_line_is_one_lowercased_line():
    assert fasttext_line("  Let $X$\n be\t\tPRIME ") == "let $x$ be prime"


def test_classifier_separates_heldout_classes(model):
    path, metrics = model
    assert metrics.heldout_positives >= 50 and metrics.heldout_negatives >= 50
    assert metrics.f1 > 0.8 and metrics.precision > 0.8 and metrics.recall > 0.8
    saved = json.loads(path.with_suffix(".metrics.json").read_text())
    assert saved["config"]["dim"] == 256 and saved["metrics"]["f1"] == metrics.f1


def test_scores_are_probabilities_and_load_round_trips(model, corpus):
    loaded = MathClassifier.load(model[0])
    scores = loaded.score(["Solve $x^2 - 5x + 6 = 0$ for x. Hence x = 2 or 3.", "bake the dough"])
    assert all(0.0 <= s <= 1.0 for s in scores) and scores[0] > scores[1]
    assert loaded.score([]) == []


def test_load_errors_are_input_errors(tmp_path):
    with pytest.raises(InputError):
        MathClassifier.load(tmp_path / "missing.bin")


def test_recall_step_keeps_math_pages(model):
    rng = random.Random(11)
    docs = [Document(text=t, id=f"m{i}") for i, t in enumerate(math_pages(rng)[:40])]
    docs += [Document(text=other_page(rng), id=f"o{i}") for i in range(40)]
    recall = MathRecall(model[0], threshold=0.5, batch_size=16)
    kept = list(recall.run(iter(docs)))
    kept_math = sum(d.id.startswith("m") for d in kept)
    assert kept_math >= 36 and len(kept) - kept_math <= 4
    assert all(SCORE_KEY in d.metadata for d in docs)
    assert recall.stats.stats["dropped_below_threshold"].total == len(docs) - len(kept)


def test_token_budget_keeps_the_best_pages(model):
    rng = random.Random(5)
    docs = [Document(text=t, id=str(i)) for i, t in enumerate(math_pages(rng)[:20])]
    for doc in docs:
        doc.metadata["token_count"] = 100
    kept = list(MathRecall(model[0], threshold=0.0, top_k_tokens=550).run(iter(docs)))
    assert len(kept) == 5
    best = sorted((d.metadata[SCORE_KEY] for d in docs), reverse=True)[:5]
    assert sorted((d.metadata[SCORE_KEY] for d in kept), reverse=True) == best


def test_budget_cutoff():
    assert budget_cutoff([(0.9, 10), (0.5, 10), (0.7, 10)], 25) == 0.7
    assert budget_cutoff([(0.9, 30)], 25) == float("inf")


def site_pages(rng: random.Random, math: list[str]) -> list[dict]:
    """math.example.org: 12 of 40 pages under /questions are math; news.example.com: 1 of 40;
    cook.example.net: none."""
    pages = [{"url": f"https://math.example.org/questions/{i}", "text": math[i]} for i in range(12)]
    for host, path, count in (("math.example.org", "about", 28), ("news.example.com", "world", 39)):
        pages += [
            {"url": f"https://{host}/{path}/{i}", "text": other_page(rng)} for i in range(count)
        ]
    pages.append({"url": "https://news.example.com/world/39", "text": math[20]})
    pages += [{"url": f"http://cook.example.net/r/{i}", "text": other_page(rng)} for i in range(30)]
    return pages


def test_discovery_finds_the_planted_domain_and_path():
    pages = [(f"https://math.example.org/questions/{i}", i < 12) for i in range(12)]
    pages += [(f"https://math.example.org/about/{i}", False) for i in range(28)]
    pages += [(f"https://news.example.com/world/{i}", i == 0) for i in range(40)]
    domains = discover_domains(pages, DiscoveryConfig())
    assert [d.host for d in domains] == ["math.example.org"]
    assert domains[0].rate == pytest.approx(0.3)
    assert [p.prefix for p in domains[0].paths] == ["/questions"]
    paths = math_paths(domains)
    assert is_seed("HTTPS://Math.Example.org/questions/77?utm_source=x", paths, 2)
    assert not is_seed("https://math.example.org/about/1", paths, 2)
    assert not is_seed("https://news.example.com/world/0", paths, 2)
    assert path_prefixes(["a", "b", "c"], 2) == ["/a", "/a/b"]


def test_cli_train_classify_discover(model, corpus, tmp_path):
    rng = random.Random(9)
    pos = write_jsonl(tmp_path / "pos.jsonl", [{"text": t} for t in corpus["math"]])
    neg_records = [{"text": t} for t in corpus["other"]]
    neg = write_jsonl(tmp_path / "neg.jsonl", neg_records)
    with neg.open("a") as f:
        f.write("{not json\n")
    runner = CliRunner()
    out = tmp_path / "m.bin"
    result = runner.invoke(
        main,
        [
            "data",
            "train-classifier",
            str(pos),
            str(neg),
            "--out",
            str(out),
            "--bucket",
            str(BUCKET),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "held-out precision" in result.output and out.is_file()

    src = write_jsonl(tmp_path / "web.jsonl", site_pages(rng, math_pages(rng)))
    scored = tmp_path / "scored.jsonl"
    args = ["data", "classify", str(src), str(scored), "--model", str(model[0]), "--threshold", "0"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "kept 110 of 110" in result.output

    kept = tmp_path / "kept.jsonl"
    args = ["data", "classify", str(src), str(kept), "--model", str(model[0])]
    assert runner.invoke(main, args).exit_code == 0
    hosts = [r["url"].split("/")[2] for r in read_jsonl(kept)]
    assert hosts.count("math.example.org") >= 11 and hosts.count("cook.example.net") == 0

    review, seeds = tmp_path / "review.jsonl", tmp_path / "seeds.jsonl"
    args = ["data", "discover", str(scored), "--review", str(review), "--seeds", str(seeds)]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    found = read_jsonl(review)
    assert [d["host"] for d in found] == ["math.example.org"]
    assert found[0]["paths"][0]["prefix"] == "/questions"
    seed_urls = [r["url"] for r in read_jsonl(seeds)]
    assert len(seed_urls) == 12 and all("/questions/" in u for u in seed_urls)


def test_cli_classify_missing_model_is_one_line(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", [{"text": "x", "url": "http://a.org/b"}])
    args = ["data", "classify", str(src), str(tmp_path / "out.jsonl"), "--model", "nope.bin"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and "no such model file" in result.output


def test_iterate_rounds_grow_the_positives_and_resume(corpus, tmp_path):
    rng = random.Random(5)
    seeds = write_jsonl(tmp_path / "seeds.jsonl", [{"text": t} for t in corpus["math"][:60]])
    negatives = write_jsonl(tmp_path / "neg.jsonl", [{"text": t} for t in corpus["other"][:150]])
    web = site_pages(rng, corpus["math"][100:])
    web += [{"url": f"https://q.example.edu/problems/{i}", "text": t}
            for i, t in enumerate(corpus["math"][150:190])]  # fmt: skip
    pages = write_jsonl(tmp_path / "web.jsonl", web)
    args = ["data", "iterate", str(pages), "--seeds", str(seeds), "--negatives",
            str(negatives), "--out", str(tmp_path / "rounds"), "--rounds", "2",
            "--bucket", str(BUCKET)]  # fmt: skip
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    first, second = (json.loads((tmp_path / f"rounds/round-{r}/counts.json").read_text())
                     for r in (1, 2))  # fmt: skip
    assert first["math_domains"] >= 1 and first["new_seeds"] > 0
    assert first["positives_next_round"] > 60  # the discovered pages joined the seeds
    assert second["round"] == 2 and second["classifier"]["f1"] > 0.8
    before = (tmp_path / "rounds/round-2/counts.json").stat().st_mtime_ns
    again = CliRunner().invoke(main, args, catch_exceptions=False)
    assert again.exit_code == 0 and again.output == result.output  # both rounds skipped
    assert (tmp_path / "rounds/round-2/counts.json").stat().st_mtime_ns == before


def test_iterate_trains_each_round_with_the_epochs_asked(corpus, tmp_path, monkeypatch):
    from verifier_train.data import iterate as rounds

    seen = []
    real = rounds.run_round

    def spy(corpus_path, positives, negatives, folder, config, number):
        seen.append(config.classifier.epoch)
        return real(corpus_path, positives, negatives, folder, config, number)

    monkeypatch.setattr(rounds, "run_round", spy)
    seeds = write_jsonl(tmp_path / "seeds.jsonl", [{"text": t} for t in corpus["math"][:40]])
    negatives = write_jsonl(tmp_path / "neg.jsonl", [{"text": t} for t in corpus["other"][:40]])
    pages = write_jsonl(tmp_path / "web.jsonl", site_pages(random.Random(1), corpus["math"][100:]))
    args = ["data", "iterate", str(pages), "--seeds", str(seeds), "--negatives",
            str(negatives), "--out", str(tmp_path / "rounds"), "--rounds", "2",
            "--bucket", str(BUCKET), "--epoch", "7"]  # fmt: skip
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert seen == [7, 7]
