#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpus (crate/fuzz/corpus/<target>/), a few hundred KiB in all.

    python3 crate/fuzz/make_seeds.py

Generated, never committed: scripts/fuzz.sh runs this when the corpus is missing or older than this
script or the test data it reads, which must exist first (target/test-data/, written by
scripts/setup.sh --test). The folder appears whole: it is written beside corpus/, gets a
`.complete` stamp last and is then renamed into place.

gguf_reader: the generated GGUF fixtures (target/test-data/gguf/), small hand-made model headers
(gemma3 and llama metadata, a SentencePiece and a byte-level BPE vocabulary with merges, a chat
template, tensors of every supported type), the first bytes of two real vocabulary files when
llama.cpp's test data is there, and damaged files (the cases of crate/src/gguf/tests/bad_files.rs:
bad magic and versions, counts the file cannot hold, bad strings, arrays nested too deep, bad
alignment, bad tensor infos, overlaps, truncations). Each is prefixed by the target's two control
bytes (chunk seed, length mode).
quant_blocks: the block fixtures of target/test-data/quant/ behind arbitrary control fields.
tokenizer: texts (many scripts, emoji, whitespace, special-token strings) for several
vocabularies and option bytes. chat_template: brasa's built-in templates and hand-written
templates that stress loops, macros, namespaces, recursion and filters, with messages.

Deterministic: the same files every run. Only the standard library.
"""
import hashlib
import re
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts/lib"))
from publish import publish  # noqa: E402

CORPUS = ROOT / "crate/fuzz/corpus"
OUT = CORPUS  # where put() writes: a temporary folder while main() runs
FIXTURES = ROOT / "target/test-data"
TESTDATA = ROOT / ".cache/llama-testdata"


def put(target, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


# --- GGUF writing -------------------------------------------------------------------------------
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
SCALAR = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<?",
          U64: "<Q", I64: "<q", F64: "<d"}
# ggml type -> (elements per block, bytes per block), the supported ones and two others.
BLOCKS = {0: (1, 4), 1: (1, 2), 2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34),
          10: (256, 84), 11: (256, 110), 12: (256, 144), 13: (256, 176), 14: (256, 210),
          30: (1, 2), 16: (256, 66), 39: (32, 17)}


def gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def value(ty, v):
    if ty == STR:
        return gstr(v)
    if ty == ARR:
        sub, items = v
        return struct.pack("<IQ", sub, len(items)) + b"".join(value(sub, x) for x in items)
    return struct.pack(SCALAR[ty], v)


def gguf(kvs, tensors, version=3, alignment=32, data_seed=1):
    """kvs: [(key, type, value)]; tensors: [(name, dims, ggml type)], laid out in order."""
    out = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(kvs))
    for k, ty, v in kvs:
        out += gstr(k) + struct.pack("<I", ty) + value(ty, v)
    offset, sizes = 0, []
    for name, dims, ty in tensors:
        be, bb = BLOCKS.get(ty, (32, 0))  # a removed type: no data
        n = dims[0] // be * bb
        for d in dims[1:]:
            n *= d
        out += gstr(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", ty, offset)
        sizes.append(n)
        offset += -(-n // alignment) * alignment
    out += b"\0" * (-len(out) % alignment)
    data = b""
    # A damaged table may claim absurd sizes: write data only for what a seed can hold.
    for n in (sizes if sum(sizes) < 1 << 20 else []):
        data += bytes((data_seed * 131 + i * 7) & 0xFF for i in range(n))
        data += b"\0" * (-len(data) % alignment)
    return out + data


SPM_TOKENS = ["<unk>", "<s>", "</s>", "<start_of_turn>", "<end_of_turn>"] + \
    [f"<0x{b:02X}>" for b in range(256)] + \
    ["\u2581", "\u2581Hello", "\u2581world", "He", "llo", "\u2581w", "or", "ld", "!", ",", "\u2581the", "e", "t", "h"]
SPM_TYPES = [2, 3, 3, 3, 3] + [6] * 256 + [1] * 14


def spm_kvs():
    n = len(SPM_TOKENS)
    return [
        ("tokenizer.ggml.model", STR, "llama"),
        ("tokenizer.ggml.tokens", ARR, (STR, SPM_TOKENS)),
        ("tokenizer.ggml.scores", ARR, (F32, [-float(i) for i in range(n)])),
        ("tokenizer.ggml.token_type", ARR, (I32, SPM_TYPES)),
        ("tokenizer.ggml.bos_token_id", U32, 1),
        ("tokenizer.ggml.eos_token_id", U32, 2),
        ("tokenizer.ggml.unknown_token_id", U32, 0),
        ("tokenizer.ggml.add_bos_token", BOOL, True),
    ]


def bpe_kvs(pre="llama-bpe"):
    # GPT-2's byte-to-unicode map, so every byte has a token.
    bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    byte_tokens = [chr(c) for c in cs]
    merges = ["H e", "l l", "He ll", "Hell o", "Ġ w", "o r", "Ġw or", "Ġwor l", "Ġworl d", "Ġ t", "h e", "Ġt he"]
    words = ["He", "ll", "Hell", "Hello", "Ġw", "or", "Ġwor", "Ġworl", "Ġworld", "Ġt", "he", "Ġthe"]
    tokens = byte_tokens + words + ["<|begin_of_text|>", "<|eot_id|>", "<|im_start|>", "<|im_end|>"]
    types = [1] * (len(tokens) - 4) + [3] * 4
    return [
        ("tokenizer.ggml.model", STR, "gpt2"),
        ("tokenizer.ggml.pre", STR, pre),
        ("tokenizer.ggml.tokens", ARR, (STR, tokens)),
        ("tokenizer.ggml.token_type", ARR, (I32, types)),
        ("tokenizer.ggml.merges", ARR, (STR, merges)),
        ("tokenizer.ggml.bos_token_id", U32, len(tokens) - 4),
        ("tokenizer.ggml.eos_token_id", U32, len(tokens) - 3),
    ]


def arch_kvs(arch, n_embd=64, n_layer=1):
    return [
        ("general.architecture", STR, arch),
        ("general.name", STR, f"fuzz seed {arch}"),
        (f"{arch}.embedding_length", U32, n_embd),
        (f"{arch}.block_count", U32, n_layer),
        (f"{arch}.attention.head_count", U32, 4),
        (f"{arch}.attention.head_count_kv", U32, 2),
        (f"{arch}.attention.key_length", U32, 16),
        (f"{arch}.context_length", U32, 128),
        (f"{arch}.feed_forward_length", U32, 96),
        (f"{arch}.rope.freq_base", F32, 10000.0),
        (f"{arch}.attention.layer_norm_rms_epsilon", F32, 1e-6),
    ]


TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content | trim }}<|im_end|>\n{% endfor %}"
            "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def gguf_seeds():
    seeds = []
    for f in sorted((FIXTURES / "gguf").glob("*.gguf")):
        seeds.append(f.read_bytes())
    every_type = [(f"t.{ty}", [BLOCKS[ty][0] * 2, 3], ty) for ty in sorted(BLOCKS) if ty not in (16, 39)]
    seeds.append(gguf(arch_kvs("gemma3") + spm_kvs(), every_type))
    seeds.append(gguf(arch_kvs("llama") + bpe_kvs() + [("tokenizer.chat_template", STR, TEMPLATE)],
                      [("token_embd.weight", [64, len(bpe_kvs()[2][2][1])], 8), ("output_norm.weight", [64], 0)]))
    seeds.append(gguf(arch_kvs("qwen2") + bpe_kvs("qwen2") + [("general.alignment", U32, 64)],
                      [("blk.0.attn_q.weight", [256, 2], 12), ("blk.0.ffn_up.weight", [512, 1], 14)], alignment=64))
    # Every metadata value type, nested arrays, and an unsupported tensor type.
    seeds.append(gguf([("a.u8", U8, 1), ("a.i8", I8, -1), ("a.u16", U16, 2), ("a.i16", I16, -2), ("a.u32", U32, 3),
                       ("a.i32", I32, -3), ("a.f32", F32, 0.5), ("a.bool", BOOL, True), ("a.str", STR, "ü"),
                       ("a.u64", U64, 4), ("a.i64", I64, -4), ("a.f64", F64, 0.25),
                       ("a.arr", ARR, (ARR, [(U8, [1, 2]), (STR, ["x", ""]), (ARR, [(F64, [1.0])])]))],
                      [("iq2", [256], 16), ("mxfp4", [32, 2], 39)], version=2))
    # Damaged files (bad_files.rs's cases).
    good = gguf(arch_kvs("gemma3"), [("w", [32, 2], 8)])
    seeds += [
        b"GGUE" + good[4:], good[:4] + struct.pack("<I", 1) + good[8:], good[:4] + struct.pack(">I", 3) + good[8:],
        good[:8] + struct.pack("<Q", 1 << 40) + good[16:], good[:16] + struct.pack("<Q", 1 << 40) + good[24:],
        gguf([("k", STR, b"\xff\xfe")], []), gguf([("", U32, 1)], []), gguf([("k", U32, 1), ("k", U32, 2)], []),
        b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + gstr("k") + struct.pack("<I", 13),
        b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + gstr("deep") + struct.pack("<I", ARR) + struct.pack("<IQ", ARR, 1) * 20,
        gguf([("general.alignment", U32, 48)], []), gguf([("general.alignment", F32, 32.0)], []),
        gguf([], [("w", [33], 2)]), gguf([], [("w", [32, 0], 8)]), gguf([], [("w", [32, 1, 1, 1, 1], 8)]),
        gguf([], [("w", [1 << 62, 1 << 62], 0)]), gguf([], [("w", [32], 4)]),
        gguf([], [("w", [32], 8), ("w", [32], 8)]),
    ]
    overlap = bytearray(gguf([], [("a", [64], 8), ("b", [32], 8)]))
    at = overlap.find(b"b") + 1 + 4 + 8 + 4  # b's offset field
    overlap[at:at + 8] = struct.pack("<Q", 32)
    seeds.append(bytes(overlap))
    for cut in (7, 20, 40, 100, len(good) - 1):
        seeds.append(good[:cut])
    for name in ("ggml-vocab-llama-spm.gguf", "ggml-vocab-qwen2.gguf"):
        if (TESTDATA / name).is_file():
            seeds.append((TESTDATA / name).read_bytes()[:16384])
    for i, s in enumerate(seeds):
        put("gguf_reader", bytes([i * 37 & 0xFF, 0]) + s)
    # Streams that end early (length mode 1) and overrun (mode 2).
    put("gguf_reader", bytes([5, 0x40 | 9]) + seeds[0])
    put("gguf_reader", bytes([6, 0x80 | 3]) + seeds[0])


def quant_seeds():
    index = (FIXTURES / "quant/index.txt").read_text()
    for f in sorted((FIXTURES / "quant").glob("*.bin")):
        name = f.stem.split("_random")[0].split("_model")[0].split("_special")[0].upper()
        ids = {"F32": 0, "F16": 1, "BF16": 2, "Q4_0": 3, "Q4_1": 4, "Q5_0": 5, "Q5_1": 6, "Q8_0": 7,
               "Q2_K": 8, "Q3_K": 9, "Q4_K": 10, "Q5_K": 11, "Q6_K": 12}  # QuantType::ALL order
        data = f.read_bytes()[:4096]
        # ty, rows, col_blocks, chunk_seed (u64), max_piece (u16), wild_rows, wild_cols (u64), bytes
        head = struct.pack("<BBBQHQQ", ids[name], 3, 3, len(data), 100, 3, 3 * 256)
        put("quant_blocks", head + data)
    assert index


TEXTS = [
    "Hello world", " Hello  world\n\n\tthe end ", "<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n",
    "<|begin_of_text|><|im_start|>user\nHi<|im_end|>", "</s><s><unk> <0x41>", "Ünïcödé ñ 日本語のテキスト 한국어 العربية עברית",
    "emoji: 🦀🔥👩‍👩‍👧 ✨", "   leading and trailing   ", "numbers 1234567890 3.14159 1,000,000",
    "code: fn main() { println!(\"{x:?}\"); }\n", "Привет, мир! Ελληνικά ไทย हिन्दी", "\u2581sp\u2581ace",
    "'s 're 've 'm 'll 'd n't", "a\u0301 e\u0308 \u200b\u200d\ufeff", "\r\n\r\n \x0b\x0c",
]


def tokenizer_seeds():
    for i, text in enumerate(TEXTS):
        for pick in (i, i + 7, i + 13):
            flags = (pick * 5) & 7
            put("tokenizer", bytes([pick & 0xFF, flags]) + text.encode())
        # The same text as code points (mode 2), and some ids (mode 3).
        put("tokenizer", bytes([i, 2 << 3 | 1]) + b"".join(struct.pack("<I", ord(c)) for c in text))
    put("tokenizer", bytes([3, 3 << 3 | 4]) + b"".join(struct.pack("<I", i * 997) for i in range(64)))


def builtin_sources():
    src = (ROOT / "crate/src/chat/builtin.rs").read_text()
    out = []
    for block in re.findall(r"source: concat!\((.*?)\),\n\};", src, re.S):
        parts = re.findall(r'"((?:[^"\\]|\\.)*)"', block)
        out.append("".join(p.encode().decode("unicode_escape") for p in parts))
    return out


TEMPLATES = [
    "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}",
    "{%- macro show(m) -%}[{{ m.role | upper }}]{{ m.content | trim }}{%- endmacro -%}"
    "{% for m in messages %}{{ show(m) }}{% if not loop.last %}\n{% endif %}{% endfor %}",
    "{% set ns = namespace(sys='') %}{% for m in messages %}{% if m.role == 'system' %}{% set ns.sys = m.content %}"
    "{% else %}{{ ns.sys ~ m.content }}{% endif %}{% endfor %}",
    "{% if messages[0]['role'] != 'user' %}{{ raise_exception('first must be user') }}{% endif %}"
    "{{ bos_token }}{% for m in messages %}{{ m['content'].split(' ') | join('_') }}{% endfor %}{{ eos_token }}",
    "{% for m in messages | reverse %}{{ loop.index }}{{ m.content[:10] }}{{ m.content | length }}{% endfor %}",
    "{{ strftime_now('%d %B %Y') }} {{ messages | tojson }} {{ (messages | map(attribute='role') | list) }}",
    "{% macro r(n) %}{% if n > 0 %}{{ n }}{{ r(n - 1) }}{% endif %}{% endmacro %}{{ r(messages | length * 3) }}",
    "{% for i in range(1000) %}{% for m in messages %}{{ m.content.startswith('a') }}{% endfor %}{% endfor %}",
    "{{ messages[0].content * 3 }}{{ 'x' * 10 }}{{ messages | selectattr('role', 'equalto', 'user') | list | length }}",
    "{% generation %}{{ messages[-1].content }}{% endgeneration %}{% if enable_thinking %}<think>{% endif %}",
]
CONVERSATIONS = [
    [("user", "Hello")],
    [("system", "Be brief."), ("user", "What is 2+2?"), ("assistant", "4"), ("user", "Thanks!")],
    [("user", "  spaces  "), ("assistant", ""), ("tool", "{\"x\": 1}"), ("weird role", "\u00fc\U0001F980")],
]


def chat_seeds():
    sources = builtin_sources() + TEMPLATES
    assert len(sources) >= len(TEMPLATES) + 4, "built-in templates not found"
    for i, src in enumerate(sources):
        for j, conv in enumerate(CONVERSATIONS):
            flags = (i + j) & 3
            body = b"\0".join([src.encode()] + [x.encode() for m in conv for x in m])
            put("chat_template", bytes([flags]) + body)
    put("chat_template", bytes([1 | 4 | 8]) + b"\0user\0hi")


def main():
    for d in ("gguf", "quant"):
        if not (FIXTURES / d / ".complete").is_file():
            sys.exit(f"make_seeds: {FIXTURES / d} is missing or incomplete: run scripts/setup.sh --test")

    def build(tmp):
        global OUT
        OUT = tmp
        gguf_seeds()
        quant_seeds()
        tokenizer_seeds()
        chat_seeds()

    publish(CORPUS, build, "")
    files = [f for f in CORPUS.rglob("*") if f.is_file() and f.name != ".complete"]
    print(f"seed corpus in {CORPUS}: {len(files)} files, {sum(f.stat().st_size for f in files) // 1024} KiB")


if __name__ == "__main__":
    main()
