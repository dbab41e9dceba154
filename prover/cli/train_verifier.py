"""`prover train verifier|meta-verifier|generator`: the DeepSeekMath-V2 stages on GRPO. This
module only parses options; the stages are `verifier_train.v2.stages.train_verifier`,
`train_meta_verifier` and `train_generator`."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from prover.cli.options import TEMPLATES_OPTION
from prover.cli.train_common import show, stage_options, warn
from verifier_train.trainer_io import StageRun

FILES = click.argument("files", metavar="DATA...", nargs=-1, required=True,
                       type=click.Path(path_type=Path, dir_okay=False))  # fmt: skip


def judge_options(role: str, required: bool):
    """--<role>, --<role>-backend, --<role>-base-url: a judge model behind any backend."""
    flag = role.replace("_", "-")
    options = [
        # (click 8.3 counts an explicit default=None as a value: no default when required)
        click.option(f"--{flag}", role, required=required,
                     **({} if required else {"default": None}),
                     help=f"The {flag} model (built-in name, hub id, folder, or served name)."),
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


def settings(template_dir: str | None, judge_samples: int, judge_max_tokens: int,
             judge_temperature: float, probe_every: int):  # fmt: skip
    """The shared options as the stages' `V2Settings`."""
    from verifier_train.v2.rewards import JudgeConfig
    from verifier_train.v2.stages import ProbeConfig, V2Settings

    judge = JudgeConfig(judge_samples, judge_temperature, judge_max_tokens)
    probes = ProbeConfig(probe_every, max_tokens=min(judge_max_tokens, 1024),
                         temperature=judge_temperature)  # fmt: skip
    return V2Settings(template_dir, judge, probes)


def judge_spec(model: str | None, backend: str, base_url: str | None):
    """The judge options as a `JudgeSpec`, or None without a model (the stage checks them)."""
    from verifier_train.v2.stages import JudgeSpec

    return JudgeSpec(model, backend, base_url) if model else None


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
             max_steps: int | None, meta_data: tuple[Path, ...], meta_verifier: str | None,
             meta_verifier_backend: str, meta_verifier_base_url: str | None,
             **shared) -> None:  # fmt: skip
    """GRPO for the verifier on graded proofs (problem, proof, expert score): reward
    R_format · (1 − |s′ − s|), times R_meta with --meta-verifier."""
    from verifier_train.v2.stages import VerifierRun, train_verifier

    meta_judge = judge_spec(meta_verifier, meta_verifier_backend, meta_verifier_base_url)
    config = VerifierRun(StageRun(out, recipe, model, max_steps), files, meta_data, meta_judge,
                         settings(**shared))  # fmt: skip
    show(train_verifier(config, log=warn))


@click.command("meta-verifier")
@FILES
@stage_options("meta_verifier")
@shared_options
def meta_verifier(files: tuple[Path, ...], recipe: Path | None, model: str | None, out: Path,
                  max_steps: int | None, **shared) -> None:  # fmt: skip
    """GRPO for the meta-verifier on graded analyses (problem, proof, analysis, meta score):
    reward R_format · (1 − |ms′ − ms|)."""
    from verifier_train.v2.stages import MetaVerifierRun, train_meta_verifier

    config = MetaVerifierRun(StageRun(out, recipe, model, max_steps), files, settings(**shared))
    show(train_meta_verifier(config, log=warn))


@click.command()
@FILES
@stage_options("generator")
@judge_options("verifier_model", required=True)
@judge_options("meta_verifier", required=False)
@click.option("--alpha", type=float, default=0.76, show_default=True, help="Weight of R_proof.")
@click.option("--beta", type=float, default=0.24, show_default=True, help="Weight of R_self.")
@shared_options
def generator(files: tuple[Path, ...], recipe: Path | None, model: str | None, out: Path,
              max_steps: int | None, verifier_model: str, verifier_model_backend: str,
              verifier_model_base_url: str | None, meta_verifier: str | None,
              meta_verifier_backend: str, meta_verifier_base_url: str | None, alpha: float,
              beta: float, **shared) -> None:  # fmt: skip
    """GRPO for the proof generator on problems (.tex or records with `problem`), rewarded by
    a verifier model: R_format · (α·R_proof + β·R_self)."""
    from verifier_train.v2.stages import GeneratorRun, train_generator

    judge = judge_spec(verifier_model, verifier_model_backend, verifier_model_base_url)
    meta_judge = judge_spec(meta_verifier, meta_verifier_backend, meta_verifier_base_url)
    config = GeneratorRun(StageRun(out, recipe, model, max_steps), files, judge, meta_judge,
                          alpha, beta, settings(**shared))  # fmt: skip
    show(train_generator(config, log=warn))
