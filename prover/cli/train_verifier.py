"""`prover train verifier|meta-verifier|generator`: the DeepSeekMath-V2 stages on GRPO."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from prover.cli.options import TEMPLATES_OPTION
from prover.cli.train_common import load_stage, say, stage_options, steps
from prover.errors import InputError
from verifier_train.trainer_io import train_and_save

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
    TEMPLATES_OPTION,
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


def settings(opts: dict):
    """(templates, judge config, probe config) from the shared options."""
    from prover.prompts import Templates
    from verifier_train.v2.rewards import JudgeConfig
    from verifier_train.v2.stages import ProbeConfig

    judge = JudgeConfig(opts["judge_samples"], opts["judge_temperature"], opts["judge_max_tokens"])
    probes = ProbeConfig(opts["probe_every"], max_tokens=min(opts["judge_max_tokens"], 1024),
                         temperature=opts["judge_temperature"])  # fmt: skip
    return Templates.load(opts["template_dir"]), judge, probes


def judge_spec(opts: dict, role: str):
    from verifier_train.v2.stages import JudgeSpec

    model, backend, url = opts[role], opts[f"{role}_backend"], opts[f"{role}_base_url"]
    flag = role.replace("_", "-")
    if model and backend == "openai" and not url:
        raise InputError(f"--{flag}-backend openai needs --{flag}-base-url (the server's /v1 URL)")
    return JudgeSpec(model, backend, url) if model else None


def report_skipped(skipped: list) -> None:
    for reason in skipped[:20]:
        click.echo(f"skipped {reason}", err=True)
    if len(skipped) > 20:
        click.echo(f"skipped {len(skipped) - 20} more records", err=True)


def finish(built: tuple, out: Path, stage) -> object:
    """Report prompts that did not fit, train with resume, save; returns the trainer."""
    trainer, too_long = built
    if too_long:
        click.echo(f"skipped {too_long} prompts over {stage.max_prompt_length} tokens", err=True)
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
    from verifier_train.grpo import GRPORecipe
    from verifier_train.v2.stages import make_judge, verifier_trainer
    from verifier_train.v2.verifier import read_meta_data, read_verifier_data

    stage, policy = load_stage(recipe, model, "verifier", GRPORecipe)
    data, skipped = read_verifier_data(list(files))
    metas, meta_skipped = read_meta_data(list(meta_data)) if meta_data else ([], [])
    report_skipped(skipped + meta_skipped)
    templates, judge_config, probes = settings(opts)
    meta_judge = make_judge(judge_spec(opts, "meta_verifier"), templates, judge_config)
    built = verifier_trainer(policy, data, metas, stage, out, templates, meta_judge, probes,
                             **steps(max_steps))  # fmt: skip
    trainer = finish(built, out, stage)
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
    from verifier_train.grpo import GRPORecipe
    from verifier_train.v2.stages import meta_verifier_trainer
    from verifier_train.v2.verifier import read_meta_data

    stage, policy = load_stage(recipe, model, "meta_verifier", GRPORecipe)
    data, skipped = read_meta_data(list(files))
    report_skipped(skipped)
    templates, _, _ = settings(opts)
    built = meta_verifier_trainer(policy, data, stage, out, templates, **steps(max_steps))
    trainer = finish(built, out, stage)
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
    from verifier_train.grpo import GRPORecipe
    from verifier_train.v2.generator import read_problems
    from verifier_train.v2.stages import generator_trainer, make_judge

    stage, policy = load_stage(recipe, model, "generator", GRPORecipe)
    problems, skipped = read_problems(list(files))
    report_skipped(skipped)
    if not problems:
        raise InputError("no problems to train the generator on")
    templates, judge_config, probes = settings(opts)
    judge = make_judge(judge_spec(opts, "verifier_model"), templates, judge_config)
    meta_judge = make_judge(judge_spec(opts, "meta_verifier"), templates, judge_config)
    built = generator_trainer(policy, problems, stage, out, templates, judge, meta_judge, alpha,
                              beta, probes, **steps(max_steps))  # fmt: skip
    trainer = finish(built, out, stage)
    say(trainer, f"trained the generator {policy} on {len(problems)} problems; "
        f"model in {out / 'final'}")  # fmt: skip
