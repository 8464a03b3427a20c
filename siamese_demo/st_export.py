"""Write a text Transformer model in the sentence-transformers layout as well, so that
``SentenceTransformer(folder / "sentence_transformer")`` opens it with the same embeddings:
``0_Transformer`` (the BERT layers + tokenizer), ``1_Pooling`` (masked mean), ``2_Dense`` (our head)."""
from __future__ import annotations

import tempfile
from pathlib import Path

from torch import nn

from .encoders import TransformerEncoder
from .preprocess import TextPreprocessor


def exportable(model) -> bool:
    return (isinstance(model.encoder, TransformerEncoder) and model.encoder.config.input_kind == "tokens"
            and isinstance(model.preprocessor, TextPreprocessor))


def export_sentence_transformer(model, folder: str | Path) -> Path:
    from sentence_transformers import SentenceTransformer, models
    from transformers import PreTrainedTokenizerFast

    out = Path(folder) / "sentence_transformer"
    enc = model.encoder
    tok = PreTrainedTokenizerFast(tokenizer_object=model.preprocessor.tokenizer, unk_token="[UNK]",
                                  pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                  model_max_length=model.preprocessor.max_length)
    with tempfile.TemporaryDirectory() as tmp:
        enc.bert.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        word = models.Transformer(tmp, max_seq_length=model.preprocessor.max_length)
        pool = models.Pooling(enc.config.hidden_size, pooling_mode="mean")
        dense = models.Dense(enc.config.hidden_size, enc.config.embedding_dim, bias=True,
                             activation_function=nn.Identity())
        dense.linear.load_state_dict(enc.head.state_dict())
        modules = [word, pool, dense] + ([models.Normalize()] if model.normalize else [])
        SentenceTransformer(modules=modules, device="cpu").save(str(out))
    return out
