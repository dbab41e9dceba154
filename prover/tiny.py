"""A tiny random Llama with a byte-level BPE tokenizer, built offline in about a second.

For tests, benchmarks and smoke runs of the whole pipeline on a CPU; it writes nonsense.
`python -m prover.tiny DIR` writes one to DIR (an empty or new folder), so every command
that takes `--model` can run without the model hub. This module does not download anything.
"""

from __future__ import annotations

from pathlib import Path

CHAT_TEMPLATE = "{% for m in messages %}{{ m['content'] }}{% endfor %}"


def build_tiny_model(
    path: Path, chat_template: str | None = CHAT_TEMPLATE, stop_ids: int = 23
) -> Path:
    """Write a ~100k-parameter Llama and its tokenizer to `path` (well under a second)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    corpus = ["Let x be a real number. Then x^2 >= 0. \\boxed{1} ## Solution"] * 50
    trainer = trainers.BpeTrainer(
        vocab_size=512,
        special_tokens=["<pad>", "<s>", "</s>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>"
    )
    if chat_template:
        fast.chat_template = chat_template
    fast.save_pretrained(path)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=fast.vocab_size,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
    )
    model = LlamaForCausalLM(config)
    # A random model almost never samples its one EOS id, so every generation would be
    # truncated. Treating 24 ids as end-of-sequence makes about half of 16-token samples
    # stop, which exercises both the "stop" and the "length" paths.
    model.generation_config.eos_token_id = [2, *range(100, 100 + stop_ids)]
    model.save_pretrained(path)
    return path


def command():
    """The click command of `python -m prover.tiny DIR` (click imported only for it)."""
    import click

    from prover.cli import UserError

    @click.command(context_settings={"help_option_names": ["-h", "--help"]})
    @click.argument("folder", metavar="DIR", type=click.Path(path_type=Path, file_okay=False))
    def tiny(folder: Path) -> None:
        """Write a tiny random Llama and its tokenizer to DIR (a new or empty folder), for
        smoke runs of any command that takes --model: it loads in a second, writes nonsense."""
        from prover.cli.options import quiet_transformers

        if folder.exists() and any(folder.iterdir()):
            raise UserError(f"{folder} is not empty; give a new or empty folder", exit_code=2)
        quiet_transformers()
        build_tiny_model(folder)
        click.echo(f"tiny model -> {folder} (random weights: it writes nonsense)")

    return tiny


if __name__ == "__main__":
    command()(prog_name="python -m prover.tiny")
