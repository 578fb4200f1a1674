"""Byte-level BPE tokenizer trained on the data with Hugging Face `tokenizers`, for from-scratch models."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast
from transformers.models.qwen2.tokenization_qwen2 import PRETOKENIZE_REGEX as QWEN2_SPLIT

PAD, BOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
SPECIAL_TOKENS = [PAD, BOS, EOS, UNK]  # ids 0..3
# Llama and Gemma prepend BOS to every encoded text; Qwen2 does not.
ADDS_BOS = {"llama": True, "gemma": True, "qwen2": False}


def train_bpe(texts: Iterable[str], vocab_size: int, model_type: str = "llama") -> PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE(unk_token=None, byte_fallback=False))
    # The byte-level alphabet makes every UTF-8 string encodable, so <unk> is never produced.
    if model_type == "qwen2":
        # Qwen2's own pipeline: transformers 5 rebuilds exactly this for any qwen2 folder it loads
        # with AutoTokenizer, so the saved tokenizer must already be it.
        tok.normalizer = normalizers.NFC()
        tok.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
                pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
            ]
        )
    else:  # GPT-2's byte-level BPE
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(texts, trainer=trainer)
    if ADDS_BOS.get(model_type, True):
        bos_id = tok.token_to_id(BOS)
        tok.post_processor = processors.TemplateProcessing(single=f"{BOS} $A", pair=f"{BOS} $A {BOS} $B", special_tokens=[(BOS, bos_id)])
    else:
        tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    return wrap(tok)


def wrap(tok: Tokenizer) -> PreTrainedTokenizerFast:
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        clean_up_tokenization_spaces=False,
    )


def load_tokenizer(tok_dir: str | Path) -> PreTrainedTokenizerFast:
    """The generic fast tokenizer over tokenizer.json as written: AutoTokenizer in transformers 5
    rebuilds some families' pipelines (Qwen2's pre-tokenizer) instead of reading the file."""
    from transformers import AutoTokenizer

    tok_dir = Path(tok_dir)
    if (tok_dir / "tokenizer.json").is_file():
        return PreTrainedTokenizerFast.from_pretrained(str(tok_dir))
    return AutoTokenizer.from_pretrained(str(tok_dir))  # e.g. SentencePiece only: converted to tokenizer.json
