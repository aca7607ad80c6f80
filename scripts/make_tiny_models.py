#!/usr/bin/env python3
"""Writes tiny GGUF models of the architectures brasa runs besides gemma3 (llama, qwen2, qwen3,
gemma, gemma2, phi3): real metadata keys and tensor names per family, random weights from a fixed
seed (so every run writes the same bytes), and a real vocabulary from llama.cpp's test data.
The tests compare brasa's logits on them with llama.cpp's (tests/reference/tiny/). tiny-llama3
adds Llama 3.1's RoPE frequency factors (rope_freqs.weight); tiny-gemma2 has 4 layers so that
its alternating local/global attention has two of each.

    .venv/bin/python scripts/make_tiny_models.py OUT_DIR TESTDATA_DIR

TESTDATA_DIR holds llama.cpp's vocabulary files (.cache/llama-testdata). The byte-level BPE
families get their own real vocabulary, every tokenizer.* key of the file copied (merges, token
types, pre-tokenizer, special ids, chat template): tiny-llama3 Llama 3's ggml-vocab-llama-bpe.gguf
(128,256 tokens), tiny-qwen2 and tiny-qwen3 Qwen 2's ggml-vocab-qwen2.gguf (151,936 tokens).
tiny-phi3 takes ggml-vocab-phi-3.gguf (llama.cpp's Phi-3 loader needs its special tokens); the
others the SentencePiece vocabulary of ggml-vocab-llama-spm.gguf (tokens, scores, types and
bos/eos/unk only, as when their reference logits were made).

Small but real shapes: GQA (4 query heads, 2 KV heads), head_dim 16, 2 layers, F32 weights;
on the BPE vocabularies token_embd is Q8_0 (an embedding lookup dequantizes it exactly, in
llama.cpp as in brasa) so that a file stays ~50 MB, while the LM head stays F32 (llama.cpp's CPU
would quantize the activations to 8 bits for a Q8_0 head, an error far above the test's budget).
"""
import sys
from pathlib import Path

import numpy as np
import gguf

# File stem -> GGUF architecture. "llama3" is a llama with Llama 3.1's RoPE frequency factors.
MODELS = {"llama": "llama", "qwen2": "qwen2", "qwen3": "qwen3", "llama3": "llama", "gemma": "gemma", "gemma2": "gemma2", "phi3": "phi3"}
SEEDS = {"llama": 1, "qwen2": 2, "qwen3": 3, "llama3": 4, "gemma": 5, "gemma2": 6, "phi3": 7}
N_EMBD, N_HEAD, N_KV, HEAD_DIM, N_FF = 64, 4, 2, 16, 96
# File stem -> vocabulary file in TESTDATA_DIR (default ggml-vocab-llama-spm.gguf).
VOCABS = {"llama3": "ggml-vocab-llama-bpe.gguf", "qwen2": "ggml-vocab-qwen2.gguf",
          "qwen3": "ggml-vocab-qwen2.gguf", "phi3": "ggml-vocab-phi-3.gguf"}


def vocab_fields(path):
    r = gguf.GGUFReader(path)
    out = {}
    if r.fields["tokenizer.ggml.model"].contents() == "gpt2":
        # Byte-level BPE: every tokenizer.* key, in the file's order, with its GGUF types.
        out["kvs"] = [
            (k, f.contents(), f.types[0], f.types[-1] if f.types[0] == gguf.GGUFValueType.ARRAY else None)
            for k, f in r.fields.items()
            if k.startswith("tokenizer.")
        ]
        out["tokenizer.ggml.tokens"] = r.fields["tokenizer.ggml.tokens"].contents()
        return out
    for name in ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type"):
        f = r.fields[name]
        out[name] = [f.contents(i) for i in range(len(f.data))] if hasattr(f, "contents") else None
    for name in ("tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.unknown_token_id"):
        out[name] = int(r.fields[name].parts[-1][0])
    return out


def write(stem, out_dir, vocab):
    arch = MODELS[stem]
    rng = np.random.default_rng(SEEDS[stem])
    n_vocab = len(vocab["tokenizer.ggml.tokens"])
    path = out_dir / f"tiny-{stem}.gguf"
    w = gguf.GGUFWriter(str(path), arch)
    w.add_name(f"tiny {stem}")
    w.add_context_length(256)
    w.add_embedding_length(N_EMBD)
    n_layer = 4 if arch == "gemma2" else 2
    w.add_block_count(n_layer)
    w.add_feed_forward_length(N_FF)
    w.add_head_count(N_HEAD)
    w.add_head_count_kv(N_KV)
    w.add_key_length(HEAD_DIM)
    w.add_value_length(HEAD_DIM)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(1000000.0 if arch.startswith("qwen") else 10000.0)
    if arch == "gemma2":
        # Small caps and window so that soft-capping and the local layers change the logits of
        # a 20-token test sequence (real files: 50, 30 and 4096).
        w.add_float32("gemma2.attn_logit_softcapping", 1.5)
        w.add_float32("gemma2.final_logit_softcapping", 10.0)
        w.add_uint32("gemma2.attention.sliding_window", 8)
    if "kvs" in vocab:
        for key, value, vtype, sub_type in vocab["kvs"]:
            w.add_key_value(key, value, vtype, sub_type)
    else:
        w.add_tokenizer_model("llama")
        w.add_token_list(vocab["tokenizer.ggml.tokens"])
        w.add_token_scores(vocab["tokenizer.ggml.scores"])
        w.add_token_types(vocab["tokenizer.ggml.token_type"])
        w.add_bos_token_id(vocab["tokenizer.ggml.bos_token_id"])
        w.add_eos_token_id(vocab["tokenizer.ggml.eos_token_id"])
        w.add_unk_token_id(vocab["tokenizer.ggml.unknown_token_id"])

    def t(name, *shape, scale=0.08, center=0.0, qtype=None):
        data = (center + scale * rng.standard_normal(shape)).astype(np.float32)
        if qtype is None:
            w.add_tensor(name, data)
        else:
            w.add_tensor(name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)

    q, kv = N_HEAD * HEAD_DIM, N_KV * HEAD_DIM
    embd_type = gguf.GGMLQuantizationType.Q8_0 if "kvs" in vocab else None
    t("token_embd.weight", n_vocab, N_EMBD, scale=0.5, qtype=embd_type)
    t("output_norm.weight", N_EMBD, scale=0.1, center=1.0)
    if not arch.startswith("gemma"):  # Gemma ties the LM head to the embedding
        t("output.weight", n_vocab, N_EMBD, scale=0.2)
    if stem == "llama3":
        # Llama 3.1's divisors grow from 1 (high frequencies) to 8 (low ones).
        w.add_tensor("rope_freqs.weight", np.linspace(1.0, 8.0, HEAD_DIM // 2).astype(np.float32))
    for il in range(n_layer):
        b = f"blk.{il}."
        t(b + "attn_norm.weight", N_EMBD, scale=0.1, center=1.0)
        if arch == "phi3":  # fused, as Phi-3 files store them
            t(b + "attn_qkv.weight", q + 2 * kv, N_EMBD, scale=0.15)
        else:
            t(b + "attn_q.weight", q, N_EMBD, scale=0.15)
            t(b + "attn_k.weight", kv, N_EMBD, scale=0.15)
            t(b + "attn_v.weight", kv, N_EMBD, scale=0.15)
        if arch == "qwen2":
            t(b + "attn_q.bias", q, scale=0.3)
            t(b + "attn_k.bias", kv, scale=0.3)
            t(b + "attn_v.bias", kv, scale=0.3)
        if arch == "qwen3":
            t(b + "attn_q_norm.weight", HEAD_DIM, scale=0.1, center=1.0)
            t(b + "attn_k_norm.weight", HEAD_DIM, scale=0.1, center=1.0)
        t(b + "attn_output.weight", N_EMBD, q, scale=0.15)
        t(b + "ffn_norm.weight", N_EMBD, scale=0.1, center=1.0)
        if arch == "phi3":  # gate rows, then up rows
            t(b + "ffn_up.weight", 2 * N_FF, N_EMBD, scale=0.15)
        else:
            t(b + "ffn_gate.weight", N_FF, N_EMBD, scale=0.15)
            t(b + "ffn_up.weight", N_FF, N_EMBD, scale=0.15)
        t(b + "ffn_down.weight", N_EMBD, N_FF, scale=0.15)
        if arch == "gemma2":
            t(b + "post_attention_norm.weight", N_EMBD, scale=0.1, center=1.0)
            t(b + "post_ffw_norm.weight", N_EMBD, scale=0.1, center=1.0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    out_dir, data = Path(sys.argv[1]), Path(sys.argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    vocabs = {}
    for stem in MODELS:
        name = VOCABS.get(stem, "ggml-vocab-llama-spm.gguf")
        if name not in vocabs:
            vocabs[name] = vocab_fields(str(data / name))
        print(write(stem, out_dir, vocabs[name]))


if __name__ == "__main__":
    main()
