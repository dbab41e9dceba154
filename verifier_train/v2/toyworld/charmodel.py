"""A tiny character-level Llama (about 1M parameters): the toy prover's model, and the model of the
learning checks on a CPU.

One token per printable ASCII character, plus <pad>, <s>, </s> and <unk>, so that arithmetic is
learnable in minutes (a BPE vocabulary would merge digits unpredictably). Optional `words`
(say, a prompt template's fixed sentences) are single tokens, so that a long constant prompt
costs a few positions rather than one per character. The tokenizer is a
`tokenizers` WordLevel model over single characters, wrapped in `PreTrainedTokenizerFast` and
saved with the model, so every stage loads both by path. No BOS is added on encode: TRL's SFT
tokenizes without special tokens, its GRPO and the `hf` backend with them, and all three must
see the same prompt ids. EOS (</s>) is the model's end of sequence; TRL appends it to SFT
completions and generation stops on it.

This module does not train or download anything; the weights are random.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from pathlib import Path

SPECIALS = ("<pad>", "<s>", "</s>", "<unk>")
CHARS = string.printable  # digits, letters, punctuation, space, \t \n \r \x0b \x0c


def build_char_tokenizer(words: Sequence[str] = ()):
    """A `PreTrainedTokenizerFast` with one id per printable character (ids 0-3 are special),
    plus one id for each of `words`, matched whole before the text is split into characters."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate([*SPECIALS, *CHARS])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    # Every character is its own pre-token (newlines too, which "." would not match).
    tok.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")
    tok.decoder = decoders.Fuse()  # join the characters back without spaces
    tok.add_tokens([AddedToken(w, normalized=False, special=False) for w in words])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
    )


def build_char_model(
    path: Path,
    words: Sequence[str] = (),
    hidden: int = 128,
    layers: int = 4,
    seed: int = 0,
    max_positions: int = 1024,
) -> Path:
    """Write a random character-level Llama (hidden 128, 4 layers: about 1.05M parameters) and
    its tokenizer (with `words` as whole tokens) to `path`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_char_tokenizer(words)
    tokenizer.save_pretrained(path)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=4 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=max_positions,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(path)
    return path
