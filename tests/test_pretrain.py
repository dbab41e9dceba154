"""Continued pretraining: the multi-step schedule by hand, packing into full EOS-separated
blocks, token shares of a mixture, bad data, and `prover train pretrain` end to end on the
tiny Llama (CPU) with a resume."""

from __future__ import annotations

import gzip
import json
import math
from collections import Counter
from itertools import islice
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from prover.cli import main
from prover.errors import InputError

pytest.importorskip("trl")

from verifier_train.pretrain import (  # noqa: E402  (after the importorskip)
    PretrainRecipe,
    multistep_lr_factor,
    with_data,
)
from verifier_train.pretrain_data import (  # noqa: E402
    MixtureStats,
    Source,
    check_source,
    mixture_blocks,
    pack,
    parse_mixture,
    read_texts,
)

RECIPES = Path(__file__).resolve().parents[1] / "verifier_train/recipes"


def write_jsonl(path: Path, rows: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [r if isinstance(r, str) else json.dumps(r) for r in rows]
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model))


# --- Schedule ---------------------------------------------------------------------------


def test_multistep_schedule_hand_computed() -> None:
    factors = [multistep_lr_factor(s, 100, 10) for s in (0, 5, 9, 10, 50, 79, 80, 89, 90, 99)]
    assert factors == [0.0, 0.5, 0.9, 1.0, 1.0, 1.0, 0.316, 0.316, 0.1, 0.1]
    # the paper's run: 50,200 steps, 2,000 warmup; drops at steps 40,160 and 45,180
    paper = [multistep_lr_factor(s, 50_200, 2000) for s in (1000, 40_159, 40_160, 45_179, 45_180)]
    assert paper == [0.5, 1.0, 0.316, 0.316, 0.1]
    assert multistep_lr_factor(3, 10, 0) == 1.0


def test_paper_recipe_and_memory_estimate() -> None:
    from verifier_train.recipe_yaml import read_recipe, section

    path = RECIPES / "pretrain-deepseekmath-7b.yaml"
    settings = read_recipe(path)
    recipe = section(settings, "pretrain", PretrainRecipe, path)
    assert settings["model"] == "deepseek-ai/deepseek-coder-7b-base-v1.5"
    assert (recipe.learning_rate, recipe.warmup_steps, recipe.max_length) == (4.2e-4, 2000, 4096)
    assert (recipe.adam_beta1, recipe.adam_beta2, recipe.weight_decay) == (0.9, 0.95, 0.1)
    assert abs(recipe.tokens_per_step / 10e6 - 1) < 0.01  # 10M tokens per batch
    assert abs(recipe.tokens_per_step * recipe.max_steps / 500e9 - 1) < 0.001  # 500B tokens
    weights = {s.name: s.weight for s in recipe.mixture}
    assert weights == {"math": 0.56, "algebraic_stack": 0.04, "arxiv": 0.10, "github": 0.20,
                       "common_crawl": 0.10}  # fmt: skip


# --- Packing and mixture ----------------------------------------------------------------


def test_pack_cuts_exact_blocks_and_carries_the_rest() -> None:
    docs = [[1, 2, 3], [4, 5], [6, 7, 8, 9, 10], [11]]
    assert list(pack(docs, 4)) == [[1, 2, 3, 4], [5, 6, 7, 8]]  # [9, 10, 11] is not full
    assert list(pack(docs, 2)) == [[1, 2], [3, 4], [5, 6], [7, 8], [9, 10]]


def test_blocks_are_full_and_documents_end_in_eos(tmp_path: Path, tokenizer) -> None:
    texts = [f"Lemma {i}: x^{i} is {'odd' if i % 2 else 'even'}." for i in range(7)]
    path = write_jsonl(tmp_path / "docs.jsonl", [{"text": t} for t in texts])
    blocks = [b for _, b in islice(mixture_blocks([Source("m", (str(path),))], tokenizer, 32), 9)]
    assert all(len(b) == 32 for b in blocks)
    stream = [t for b in blocks for t in b]
    eos = tokenizer.eos_token_id
    ends = [i for i, t in enumerate(stream) if t == eos]
    pieces = [stream[a + 1 : b] for a, b in zip([-1, *ends], ends, strict=False)]
    decoded = [tokenizer.decode(p) for p in pieces]
    assert decoded == (texts * 3)[: len(decoded)] and len(decoded) > len(texts)  # 2nd pass too


def test_mixture_token_shares_match_weights(tmp_path: Path, tokenizer) -> None:
    # documents of very different lengths: per-document sampling would not give these shares
    short = write_jsonl(tmp_path / "a.jsonl", [{"text": "a b"}] * 5)
    long = write_jsonl(tmp_path / "b.jsonl", [{"text": "beta " * 200}])
    mid = write_jsonl(tmp_path / "c.jsonl", [{"text": "gamma delta " * 20}] * 3)
    sources = parse_mixture({"a": {"paths": [str(short)], "weight": 0.6},
                             "b": {"paths": [str(long)], "weight": 0.3},
                             "c": {"paths": str(mid), "weight": 0.1}})  # fmt: skip
    stats = MixtureStats()
    tokens: Counter = Counter()
    for name, block in islice(mixture_blocks(sources, tokenizer, 16, stats), 250):
        tokens[name] += len(block)
        text = tokenizer.decode(block)
        assert {"a": "a b", "b": "beta", "c": "gamma"}[name] in text
    total = sum(tokens.values())
    for source in sources:  # within one 16-token block of the exact share
        assert abs(tokens[source.name] - source.weight * total) <= 16
    assert stats.blocks == {"a": 150, "b": 75, "c": 25}


class _Chars:
    """A character tokenizer: enough for the reading and counting test."""

    eos_token_id = 0

    def __call__(self, texts, **_):
        return {"input_ids": [[ord(c) for c in t] for t in texts]}


def test_bad_records_are_counted_once(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "corpus"
    write_jsonl(folder / "bad.jsonl", ['{"id": 1}', '{"text": 5}', "{oops", "[1]",
                                       '{"text": "  "}', '{"text": "good one"}'])  # fmt: skip
    (folder / "empty.jsonl").write_text("", encoding="utf-8")
    (folder / "sub").mkdir()
    with gzip.open(folder / "sub" / "z.jsonl.gz", "wt") as f:
        f.write(json.dumps({"text": "gzipped"}) + "\n")
    pq.write_table(pa.table({"text": ["from parquet", None]}), folder / "p.parquet")
    cut = gzip.compress(b"".join(b'{"text": "%d ok"}\n' % i for i in range(400)))
    (folder / "sub" / "cut.jsonl.gz").write_bytes(cut[: len(cut) // 2])  # an interrupted write
    (folder / "notes.txt").write_text("ignored", encoding="utf-8")
    source = Source("m", (str(folder),))
    files = check_source(source)
    names = ["bad.jsonl", "empty.jsonl", "p.parquet", "cut.jsonl.gz", "z.jsonl.gz"]
    assert [f.name for f in files] == names
    skipped: Counter = Counter()
    texts = [t for f in files for t in read_texts(f, skipped)]
    assert texts[:2] == ["good one", "from parquet"] and texts[-1] == "gzipped"
    assert texts[2:-1] == [f"{i} ok" for i in range(len(texts) - 3)] and len(texts) > 10
    assert skipped == {"missing_text": 2, "text_not_str": 1, "invalid_json": 1,
                       "not_an_object": 1, "empty_text": 1, "empty_file": 1,
                       "truncated_file": 1}  # fmt: skip
    stats = MixtureStats()
    list(islice(mixture_blocks([source], _Chars(), 8, stats), 2000))  # several passes
    assert stats.passes["m"] > 1 and stats.skipped == skipped
    assert stats.skipped_line().startswith("skipped 8 bad records (1 empty_file, 1 empty_text")


def test_unusable_sources_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        check_source(Source("m", (str(tmp_path / "missing.jsonl"),)))
    with pytest.raises(InputError, match="no .jsonl"):
        check_source(Source("m", (str(tmp_path),)))
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"txt": "x"}, {"text": 3}])
    with pytest.raises(InputError, match=r"'m' has no usable document \(1 missing_text, 1 text_"):
        check_source(Source("m", (str(bad),)))
    for weight in (0, -0.5):
        with pytest.raises(InputError, match="weight must be a number > 0"):
            parse_mixture({"m": {"paths": [str(bad)], "weight": weight}})
    mixed = PretrainRecipe(mixture={"math": {"paths": ["a"], "weight": 0.9},
                                    "web": {"paths": ["b"], "weight": 0.1}})  # fmt: skip
    assert with_data(mixed, {"web": ["c"]}).mixture[1] == Source("web", ("c",), 0.1)
    with pytest.raises(InputError, match="not a source of the mixture"):
        with_data(mixed, {"code": ["c"]})
    with pytest.raises(InputError, match="need weights"):
        with_data(PretrainRecipe(), {"a": ["x"], "b": ["y"]})


# --- The command ------------------------------------------------------------------------


def pretrain(*args: object):
    return CliRunner().invoke(main, ["train", "pretrain", *map(str, args)])


def test_pretrain_command_trains_saves_and_resumes(tiny_model: Path, tmp_path: Path) -> None:
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    math_dir = tmp_path / "math"
    proofs = [{"text": f"Since {i}^2 = {i * i}, we are done."} for i in range(40)]
    write_jsonl(math_dir / "00000.jsonl", [*proofs, '{"id": 7}'])
    web = write_jsonl(tmp_path / "web.jsonl", [{"text": f"Page {i} on cats."} for i in range(20)])
    mixture = {"math": {"paths": ["placeholder"], "weight": 0.75},
               "web": {"paths": [str(web)], "weight": 0.25}}  # fmt: skip
    settings = yaml.safe_load((RECIPES / "pretrain-tiny-cpu.yaml").read_text())
    settings["pretrain"] |= {"max_steps": 10, "warmup_steps": 2, "save_steps": 5}
    settings["pretrain"]["mixture"] = mixture
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(settings))
    out = tmp_path / "run"
    common = ("--recipe", recipe, "--model", tiny_model, "--data", f"math={math_dir}", "--out", out)
    result = pretrain(*common)
    assert result.exit_code == 0, result.output
    assert "skipped 1 bad records (1 missing_text)" in result.stderr
    assert "for 10 steps on math 75%, web 25%" in result.stdout

    state = json.loads((out / "checkpoint-10" / "trainer_state.json").read_text())
    logs = [e for e in state["log_history"] if "loss" in e]
    assert len(logs) == 10 and all(math.isfinite(e["loss"]) for e in logs)
    peak = settings["pretrain"]["learning_rate"]
    lrs = [e["learning_rate"] / peak for e in logs]
    assert lrs == pytest.approx([multistep_lr_factor(s, 10, 2) for s in range(10)])
    assert logs[-1]["num_tokens"] == 10 * 2 * 64  # 10 steps of 2 full 64-token blocks

    before = load_file(tiny_model / "model.safetensors")
    after = load_file(out / "final" / "model.safetensors")
    assert any(not torch.equal(before[k], after[k]) for k in before)
    reloaded = AutoModelForCausalLM.from_pretrained(out / "final").state_dict()
    assert all(torch.equal(reloaded[k], after[k]) for k in after)

    again = pretrain(*common, "--max-steps", 12)  # resumes from checkpoint-10
    assert again.exit_code == 0, again.output
    resumed = json.loads((out / "checkpoint-12" / "trainer_state.json").read_text())
    assert [e["step"] for e in resumed["log_history"] if "loss" in e] == list(range(1, 13))


def test_command_errors_are_one_line(tiny_model: Path, tmp_path: Path) -> None:
    recipe = tmp_path / "zero.yaml"
    recipe.write_text("pretrain:\n  mixture:\n    math: {paths: [x.jsonl], weight: 0}\n")
    data = write_jsonl(tmp_path / "d.jsonl", [{"text": "one document"}])
    cpu = tmp_path / "cpu.yaml"
    cpu.write_text("pretrain:\n  use_cpu: true\n  bf16: false\n  max_steps: 1\n")
    cases = {
        "weight must be a number > 0": ("--recipe", recipe),
        "no such file": ("--recipe", cpu, "--data", f"math={tmp_path / 'nope.jsonl'}"),
        "no pretraining data": ("--recipe", cpu),
        "needs a GPU": ("--data", data),  # the default recipe is the 7B one, bf16
    }
    for message, args in cases.items():
        result = pretrain(*args, "--model", tiny_model, "--out", tmp_path / "o")
        assert result.exit_code == 2, result.output
        assert len(result.output.strip().splitlines()) == 1 and message in result.output
