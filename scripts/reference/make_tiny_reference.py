#!/usr/bin/env python3
"""Regenerates llama.cpp's reference data for the tiny models (tests/reference/tiny/): the
logits of `tiny_logits` (tiny_logits.cpp beside this file, built against libllama) and, for the
models on a byte-level BPE vocabulary, the ids `llama-tokenize` gives for a few texts.

    python3 scripts/reference/make_tiny_reference.py TINY_LOGITS LLAMA_TOKENIZE MODELS_DIR STEM...

MODELS_DIR holds the files scripts/make_tiny_models.py writes; STEM names the models to
(re)generate (`llama3 qwen2 qwen3`); the other entries of logits.json are kept as they are.
For a model listed in CHAT_TEXTS, the logits are taken at the ids llama-tokenize gives for that
text (parse_special on, the vocabulary's own BOS rule); for the others at the shared "tokens".
Needs only the Python standard library. Nothing of llama.cpp is committed: build it outside the
repository (tests/reference/README.md says how) and pass the two programs' paths.
"""
import datetime
import hashlib
import json
import subprocess
import sys
from pathlib import Path

REF = Path(__file__).resolve().parents[2] / "tests/reference/tiny"
TOP_K = 20

# The vocabulary file each model was written on (scripts/make_tiny_models.py).
VOCABS = {"llama3": "ggml-vocab-llama-bpe.gguf", "qwen2": "ggml-vocab-qwen2.gguf", "qwen3": "ggml-vocab-qwen2.gguf"}

LLAMA3_CHAT = ("<|start_header_id|>user<|end_header_id|>\n\nHello world, how are you?<|eot_id|>"
               "<|start_header_id|>assistant<|end_header_id|>\n\nThe quick brown fox jumps over the lazy dog.")
CHATML = ("<|im_start|>user\nHello world, how are you?<|im_end|>\n<|im_start|>assistant\n"
          "The quick brown fox jumps over the lazy dog.")
# The text whose ids the logits are taken at, per BPE model: a chat turn in the family's markup,
# so special-token rows of the embedding are read too.
CHAT_TEXTS = {"llama3": LLAMA3_CHAT, "qwen2": CHATML, "qwen3": CHATML}

# Texts tokenized with parse_special off and on (tokens.json), besides the chat text.
TEXTS = [
    "Hello world, how are you?\nThe quick brown fox jumps over the lazy dog",
    "It's 2024: I've got 12345 apples (they'll cost $3.50), DON'T you think?!",
    "北京是中国的首都。日本語のテキスト、한국어, Привет мир, café naïve 🙂👍🏽",
    "def fib(n):\n    if n < 2:\n        return n\n\treturn fib(n - 1) + fib(n - 2)\n",
    "   leading and trailing spaces   \n\n\n  ",
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>",
    "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
]
TOKENIZE_ARGS = ["--stdin", "--no-escape", "--ids", "--log-disable"]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def tokenize(llama_tokenize, model, text, parse_special):
    args = [llama_tokenize, "-m", str(model), *TOKENIZE_ARGS] + ([] if parse_special else ["--no-parse-special"])
    out = subprocess.run(args, input=text.encode(), capture_output=True, check=True).stdout.decode()
    return json.loads(out.strip().splitlines()[-1])


def logits(tiny_logits, model, ids):
    out = subprocess.run([tiny_logits, str(model), *map(str, ids)], capture_output=True, text=True, check=True)
    positions = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(positions) == len(ids)
    return [
        {"logsumexp": round(p["logsumexp"], 7), "top": [[i, round(v, 7)] for i, v in p["top"][:TOP_K]]}
        for p in positions
    ]


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    tiny_logits, llama_tokenize, models = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    stems = sys.argv[4:]
    logits_path, tokens_path = REF / "logits.json", REF / "tokens.json"
    ref = json.loads(logits_path.read_text())
    tok_ref = json.loads(tokens_path.read_text()) if tokens_path.exists() else {"models": {}}
    for stem in stems:
        model = models / f"tiny-{stem}.gguf"
        entry = ref["models"][stem]
        entry["file"], entry["sha256"] = model.name, sha256(model)
        if stem in CHAT_TEXTS:
            text = CHAT_TEXTS[stem]
            ids = tokenize(llama_tokenize, model, text, True)
            entry.update({"vocab": VOCABS[stem], "text": text, "parse_special": True, "tokens": ids})
            cases = [
                {"text": t, "parse_special": ps, "ids": tokenize(llama_tokenize, model, t, ps)}
                for t in [text, *TEXTS]
                for ps in (False, True)
            ]
            tok_ref["models"][stem] = {"file": model.name, "sha256": entry["sha256"], "vocab": VOCABS[stem],
                                       "cases": cases}
        else:
            ids = ref["tokens"]
        entry["positions"] = logits(tiny_logits, model, ids)
        print(f"{stem}: {len(ids)} positions", file=sys.stderr)
    tok_ref["source"] = {
        "tool": "llama-tokenize -m MODEL " + " ".join(TOKENIZE_ARGS) + " [--no-parse-special], the text on stdin "
                "(UTF-8, verbatim); the ids are its output (BOS added when the vocabulary asks for it)",
        "llama_cpp_commit": ref["source"]["llama_cpp_commit"],
        "from": ref["source"]["from"],
        "date": datetime.date.today().isoformat(),
    }
    tok_ref["models"] = dict(sorted(tok_ref["models"].items()))
    logits_path.write_text(json.dumps(ref, indent=1, ensure_ascii=False))
    tokens_path.write_text(json.dumps({"source": tok_ref.pop("source"), **tok_ref}, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
