"""`prover train verifier|meta-verifier|generator`: the DeepSeekMath-V2 stages on GRPO."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from prover.cli.train_common import load_stage, say, stage_options, steps, train_and_save
from prover.errors import InputError

FILES = click.argument("files", metavar="DATA...", nargs=-1, required=True,
                       type=click.Path(path_type=Path, dir_okay=False))  # fmt: skip


def judge_options(role: str, required: bool):
    """--<role>, --<role>-backend, --<role>-base-url: a judge model behind any backend."""
    flag = role.replace("_", "-")
    options = [
        # (click 8.3 counts an explicit default=None as a value: no default when required)
        click.option(f"--{flag}", role, required=required,
                     **({} if required else {"default": None}),
                     help=f"The {flag} model (hub id, local directory, or served name)."),
        click.option(f"--{flag}-backend", f"{role}_backend", default="hf", show_default=True,
                     type=click.Choice(["hf", "vllm", "openai"]),
                     help="hf/vllm in this process, or openai: a server at --*-base-url."),
        click.option(f"--{flag}-base-url", f"{role}_base_url", default=None,
                     help="OpenAI-compatible server URL (e.g. a `vllm serve` of the judge)."),
    ]  # fmt: skip
    return lambda func: functools.reduce(lambda f, o: o(f), reversed(options), func)


SHARED = [
    click.option("--templates", "template_dir", type=click.Path(file_okay=False), default=None,
                 help="Directory of prompt templates overriding the shipped ones."),
    click.option("--verifications", "--judge-samples", "judge_samples", type=click.IntRange(1),
                 default=4, show_default=True,
                 help="Samples per judgement: verifications per proof (R_proof is their mean), "
                 "meta-verifications per analysis."),
    click.option("--judge-max-tokens", type=click.IntRange(1), default=2048, show_default=True),
    click.option("--judge-temperature", type=click.FloatRange(0), default=1.0,
                 show_default=True),
    click.option("--probe-every", type=click.IntRange(1), default=50, show_default=True,
                 help="Steps between judge-hacking probe checks (false-positive rate)."),
]  # fmt: skip


def shared_options(func):
    return functools.reduce(lambda f, o: o(f), reversed(SHARED), func)


def make_judge(model: str | None, kind: str, base_url: str | None, opts: dict):
    """A `Judge` over the named backend, or None when no model is given."""
    if model is None:
        return None
    from prover.backends import make_backend
    from prover.prompts import Templates
    from verifier_train.v2_rewards import Judge, JudgeConfig

    options = {"base_url": base_url} if kind == "openai" else {}
    backend = make_backend(kind, model, **options)
    config = JudgeConfig(opts["judge_samples"], opts["judge_temperature"], opts["judge_max_tokens"])
    return Judge(backend, Templates.load(opts["template_dir"]), config)


def report_skipped(skipped: list) -> None:
    for reason in skipped[:20]:
        click.echo(f"skipped {reason}", err=True)
    if len(skipped) > 20:
        click.echo(f"skipped {len(skipped) - 20} more records", err=True)


def probe_callback(problems: list[str], opts: dict, backend=None):
    from prover.prompts import Templates
    from verifier_train.probes import ProbeCallback, probe_pairs

    pairs = probe_pairs(problems[:8])
    sampling_tokens = min(opts["judge_max_tokens"], 1024)
    from prover.backends.base import Sampling

    sampling = Sampling(opts["judge_temperature"], max_tokens=sampling_tokens)
    return ProbeCallback(Templates.load(opts["template_dir"]), pairs, opts["probe_every"],
                         backend, 2, sampling)  # fmt: skip


def run_grpo(policy: str, rows: list[dict], funcs: list, stage, out: Path, callbacks: list,
             max_steps: int | None):  # fmt: skip
    """GRPO over the rows whose prompts fit, with resume; saves and returns the trainer."""
    from datasets import Dataset
    from transformers import AutoTokenizer

    from verifier_train.grpo import build_trainer, fit_prompts

    tokenizer = AutoTokenizer.from_pretrained(policy)
    kept, too_long = fit_prompts(rows, tokenizer, stage.max_prompt_length)
    if too_long:
        click.echo(f"skipped {too_long} prompts over {stage.max_prompt_length} tokens", err=True)
    if not kept:
        raise InputError(f"no prompt fits in max_prompt_length={stage.max_prompt_length}")
    dataset = Dataset.from_list(kept)
    trainer = build_trainer(policy, dataset, funcs, stage, out, callbacks, **steps(max_steps))
    train_and_save(trainer, out)
    return trainer


@click.command()
@FILES
@stage_options("verifier")
@click.option(
    "--meta-data",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Meta-verifier records too: one model learns both tasks (as the paper).",
)
@judge_options("meta_verifier", required=False)
@shared_options
def verifier(files: tuple[Path, ...], recipe: Path | None, model: str | None, out: Path,
             max_steps: int | None, meta_data: tuple[Path, ...], **opts) -> None:  # fmt: skip
    """GRPO for the verifier on graded proofs (problem, proof, expert score): reward
    R_format · (1 − |s′ − s|), times R_meta with --meta-verifier."""
    from transformers import AutoTokenizer

    from prover.prompts import Templates
    from verifier_train import verifier as stage_data
    from verifier_train.grpo import GRPORecipe
    from verifier_train.v2_rewards import verifier_reward

    stage, policy = load_stage(recipe, model, "verifier", GRPORecipe)
    data, skipped = stage_data.read_verifier_data(list(files))
    metas, meta_skipped = stage_data.read_meta_data(list(meta_data)) if meta_data else ([], [])
    report_skipped(skipped + meta_skipped)
    if not data:
        raise InputError("no graded proofs to train the verifier on")
    templates = Templates.load(opts["template_dir"])
    tokenizer = AutoTokenizer.from_pretrained(policy)
    judge = make_judge(opts["meta_verifier"], opts["meta_verifier_backend"],
                       opts["meta_verifier_base_url"], opts)  # fmt: skip
    rows = stage_data.verifier_rows(data, templates, tokenizer)
    reward = verifier_reward(judge)
    if metas:
        meta = stage_data.meta_rows(metas, templates, tokenizer)
        rows, reward = stage_data.joint_rows(rows, meta), stage_data.joint_reward(reward)
    probes = probe_callback([d["problem"] for d in data], opts)
    trainer = run_grpo(policy, rows, [reward], stage, out, [probes], max_steps)
    say(trainer, f"trained the verifier {policy} on {len(data)} proofs"
        f"{f' and {len(metas)} analyses' if metas else ''}; model in {out / 'final'}")  # fmt: skip


@click.command("meta-verifier")
@FILES
@stage_options("meta_verifier")
@shared_options
def meta_verifier(files: tuple[Path, ...], recipe: Path | None, model: str | None, out: Path,
                  max_steps: int | None, **opts) -> None:  # fmt: skip
    """GRPO for the meta-verifier on graded analyses (problem, proof, analysis, meta score):
    reward R_format · (1 − |ms′ − ms|)."""
    from transformers import AutoTokenizer

    from prover.prompts import Templates
    from verifier_train.grpo import GRPORecipe
    from verifier_train.v2_rewards import meta_verifier_reward
    from verifier_train.verifier import meta_rows, read_meta_data

    stage, policy = load_stage(recipe, model, "meta_verifier", GRPORecipe)
    data, skipped = read_meta_data(list(files))
    report_skipped(skipped)
    if not data:
        raise InputError("no graded analyses to train the meta-verifier on")
    rows = meta_rows(
        data, Templates.load(opts["template_dir"]), AutoTokenizer.from_pretrained(policy)
    )
    trainer = run_grpo(policy, rows, [meta_verifier_reward], stage, out, [], max_steps)
    say(trainer, f"trained the meta-verifier {policy} on {len(data)} analyses; "
        f"model in {out / 'final'}")  # fmt: skip


@click.command()
@FILES
@stage_options("generator")
@judge_options("verifier_model", required=True)
@judge_options("meta_verifier", required=False)
@click.option("--alpha", type=float, default=0.76, show_default=True, help="Weight of R_proof.")
@click.option("--beta", type=float, default=0.24, show_default=True, help="Weight of R_self.")
@shared_options
def generator(files: tuple[Path, ...], recipe: Path | None, model: str | None, out: Path,
              max_steps: int | None, alpha: float, beta: float, **opts) -> None:  # fmt: skip
    """GRPO for the proof generator on problems (.tex or records with `problem`), rewarded by
    a verifier model: R_format · (α·R_proof + β·R_self)."""
    from transformers import AutoTokenizer

    from prover.prompts import Templates
    from verifier_train.generator import generator_rows, read_problems
    from verifier_train.grpo import GRPORecipe
    from verifier_train.v2_rewards import generator_reward

    stage, policy = load_stage(recipe, model, "generator", GRPORecipe)
    problems, skipped = read_problems(list(files))
    report_skipped(skipped)
    if not problems:
        raise InputError("no problems to train the generator on")
    verifier_judge = make_judge(opts["verifier_model"], opts["verifier_model_backend"],
                                opts["verifier_model_base_url"], opts)  # fmt: skip
    meta_judge = make_judge(opts["meta_verifier"], opts["meta_verifier_backend"],
                            opts["meta_verifier_base_url"], opts)  # fmt: skip
    tokenizer = AutoTokenizer.from_pretrained(policy)
    rows = generator_rows(problems, Templates.load(opts["template_dir"]), tokenizer)
    reward = generator_reward(verifier_judge, meta_judge, alpha, beta)
    probes = probe_callback(problems, opts, verifier_judge.backend)
    trainer = run_grpo(policy, rows, [reward], stage, out, [probes], max_steps)
    say(trainer, f"trained the generator {policy} on {len(problems)} problems; "
        f"model in {out / 'final'}")  # fmt: skip
