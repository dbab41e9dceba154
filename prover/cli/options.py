"""Options and helpers shared by the `prover` commands (the same names everywhere)."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import click

from prover.backends import BACKENDS, DEFAULT_MODEL, Backend, Sampling, build
from prover.backends.build import (
    BackendConfig,
    quiet_transformers,  # noqa: F401  (commands import it here)
)
from prover.backends.memory import DTYPES
from prover.models import help_text as model_help

# Options of every command that runs a model (the same names everywhere).
BACKEND_OPTIONS = [
    click.option(
        "--model",
        default=DEFAULT_MODEL,
        show_default=True,
        help=model_help("the generator"),
    ),
    click.option(
        "--backend",
        type=click.Choice(BACKENDS),
        default="hf",
        show_default=True,
        help="hf: in-process transformers; vllm: in-process vLLM; "
        "openai: an OpenAI-compatible server at --base-url.",
    ),
    click.option(
        "--base-url",
        default=None,
        help="Server URL for --backend openai, e.g. http://127.0.0.1:8000/v1.",
    ),
    click.option(
        "--api-key-env",
        default="OPENAI_API_KEY",
        show_default=True,
        help="Environment variable holding the API key for --backend openai.",
    ),
    click.option(
        "--max-tokens",
        type=click.IntRange(1),
        default=2048,
        show_default=True,
        help="Token limit per generation.",
    ),
    click.option(
        "--temperature",
        type=click.FloatRange(0, 2),
        default=1.0,
        show_default=True,
        help="Sampling temperature (0: greedy).",
    ),
    click.option(
        "--top-p",
        type=click.FloatRange(0, 1, min_open=True),
        default=0.95,
        show_default=True,
        help="Nucleus sampling threshold.",
    ),
    click.option("--seed", type=int, default=None, help="Random seed for sampling."),
    click.option(
        "--device",
        default="auto",
        show_default=True,
        help="Device for --backend hf (auto, cpu, cuda, cuda:1).",
    ),
    click.option(
        "--gpu-memory",
        type=click.FloatRange(0, 1, min_open=True),
        default=0.9,
        show_default=True,
        help="Share of each GPU's memory vLLM may take (--backend vllm); split evenly when a "
        "separate --verifier-model is a second in-process engine.",
    ),
    click.option(
        "--tensor-parallel-size",
        type=click.IntRange(1),
        default=1,
        show_default=True,
        help="GPUs each vLLM engine spans (--backend vllm).",
    ),
    click.option(
        "--dtype",
        type=click.Choice(DTYPES),
        default="auto",
        show_default=True,
        help="Weights' dtype for --backend hf and vllm. auto: bfloat16 on a GPU; on a CPU "
        "float32 when it fits in free memory, else bfloat16. A model that does not fit stops "
        "before it loads.",
    ),
    click.option(
        "--batch-size",
        type=click.IntRange(1),
        default=16,
        show_default=True,
        help="Sequences per forward batch for --backend hf.",
    ),
]


def _resolve_templates(ctx: click.Context, param: click.Parameter, value: str | None):
    from prover.prompts.sets import resolve

    return resolve(value)


# The prompt templates of every command that builds the loop's prompts (solve, verify, score,
# label, sample, iterate and the training stages): the same option everywhere.
TEMPLATES_OPTION = click.option(
    "--templates",
    "template_dir",
    type=click.Path(file_okay=False),
    default=None,
    callback=_resolve_templates,
    help="Prompt templates: a directory overriding the shipped ones (proof_generation.txt, "
    "proof_verification.txt, ...), a set imported with `prover templates import`, or the "
    "name of one under $PROVER_TEMPLATES (else templates/); see `prover templates list`.",
)

# Options of the commands that verify proofs (solve, verify, score).
VERIFY_OPTIONS = [
    click.option(
        "--meta/--no-meta",
        default=False,
        show_default=True,
        help="Meta-verify the analyses that find issues.",
    ),
    click.option(
        "--verifier-model",
        default=None,
        help="Verify with this model instead of the generator's own (a built-in name, a hub "
        "id or a local directory).",
    ),
    click.option(
        "--verifier-base-url",
        default=None,
        help="Verify through this OpenAI-compatible server.",
    ),
    click.option(
        "--verifications",
        "-V",
        type=click.IntRange(1),
        default=4,
        show_default=True,
        help="Verifications per proof.",
    ),
    click.option(
        "--meta-verifications",
        type=click.IntRange(1),
        default=1,
        show_default=True,
        help="Meta-verifications per issue-finding analysis (with --meta).",
    ),
    TEMPLATES_OPTION,
]


def backend_options(func):
    """Decorate a command with `BACKEND_OPTIONS`, in order."""
    return functools.reduce(lambda f, option: option(f), reversed(BACKEND_OPTIONS), func)


def model_options(func):
    """Backend and verification options, for the commands that verify proofs."""
    func = functools.reduce(lambda f, option: option(f), reversed(VERIFY_OPTIONS), func)
    return backend_options(func)


def proof_set_options(out_help: str, out_required: bool = False):
    """--out, --resume, --map and --scale, in order: the options of the commands that verify
    proof sets into one resumable output file (score, label). `out_help` says what the
    command writes there."""
    options = [
        click.option(
            "--out", type=click.Path(path_type=Path), required=out_required, help=out_help
        ),
        click.option("--resume", is_flag=True, help="Continue a run into an existing --out."),
        click.option(
            "--map",
            "mapping",
            multiple=True,
            metavar="FIELD=COLUMN",
            help="Read FIELD (problem, proof, grade, id, level, source, scale) from COLUMN; "
            "a dotted COLUMN reaches into nested objects. Repeatable.",
        ),
        click.option(
            "--scale",
            type=click.FloatRange(min=0, min_open=True),
            default=None,
            help="Maximum human grade, to put human grades on [0, 1] (default: from the "
            "competition, or guessed per file).",
        ),
    ]
    return lambda func: functools.reduce(lambda f, option: option(f), reversed(options), func)


def problem_option(help: str):
    return click.option("--problem", "problem_k", type=click.IntRange(1), default=None, help=help)


def backend_config(opts: dict) -> BackendConfig:
    """The model options of a command as a `BackendConfig` (a command without the
    verification options verifies, if at all, with its generator)."""
    names = {f.name for f in dataclasses.fields(BackendConfig)}
    return BackendConfig(**{name: value for name, value in opts.items() if name in names})


def build_backends(opts: dict) -> tuple[Backend, Backend]:
    """(generator, verifier), loading a model once when both are the same."""
    return build.build_backends(backend_config(opts))


def build_generator(opts: dict) -> Backend:
    """Only the generator, for commands that do not verify proofs."""
    return build.build_generator(backend_config(opts))


def build_verifier(opts: dict) -> Backend:
    """Only the verifier, for commands that do not generate proofs."""
    return build.build_verifier(backend_config(opts))


def sampling_from(opts: dict) -> Sampling:
    return Sampling(
        temperature=opts["temperature"],
        top_p=opts["top_p"],
        max_tokens=opts["max_tokens"],
        seed=opts["seed"],
    )
