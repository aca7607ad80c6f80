#!/usr/bin/env python3
"""Generate the block-format test data (default target/test-data/quant/; generated, never committed).

For each case it writes `<name>.bin` (blocks in the GGUF file layout) and `<name>.f32` (what the
Python `gguf` package's own numpy dequantizer, `gguf.quants.dequantize`, makes of them, as
little-endian f32), and one line in `index.txt`:

    <name> <TYPE> <n_blocks> <cols> <source>

Blocks come from three sources:
  - random floats quantized by `gguf.quants.quantize` (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0);
  - random bytes with sane f16 super-block scales (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, which gguf cannot
    quantize);
  - a few rows of real tensors of gemma-3-270m (Q4_K, Q5_0, Q6_K, Q8_0, F32), if the model is there.

Run from the repo root: .venv/bin/python scripts/gen_quant_testdata.py [--out DIR] [--model PATH]
(the model defaults to models/gemma-3-270m-q4_k_m.gguf, which scripts/setup.sh fetches).
scripts/setup.sh --test and the Rust tests (crate/tests/fixtures/) run this. The folder appears
whole or not at all: it is written beside DIR, gets a `.complete` stamp last (`model: NAME` or
`model: none`) and is then renamed into place.
"""

import argparse
import importlib.metadata
import pathlib
import sys

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "lib"))
from publish import publish  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "target" / "test-data" / "quant"
DEFAULT_MODEL = ROOT / "models" / "gemma-3-270m-q4_k_m.gguf"


def block_size(qtype):
    return gguf.GGML_QUANT_SIZES[qtype]  # (elements per block, bytes per block)


def write_case(out, index, name, qtype, raw, cols, source):
    """raw: uint8 array of whole blocks, shaped (rows, row_bytes)."""
    elems, nbytes = block_size(qtype)
    raw = np.ascontiguousarray(raw, dtype=np.uint8)
    assert raw.size % nbytes == 0
    expected = dequantize(raw, qtype).astype("<f4", copy=False)
    assert expected.size == raw.size // nbytes * elems
    (out / f"{name}.bin").write_bytes(raw.tobytes())
    (out / f"{name}.f32").write_bytes(expected.tobytes())
    index.append(f"{name} {qtype.name} {raw.size // nbytes} {cols} {source}")


def random_floats(rng, rows, cols):
    """Gaussian rows whose scale varies over eight orders of magnitude, so block scales do too."""
    scale = 10.0 ** rng.uniform(-5, 3, size=(rows, 1))
    return (rng.standard_normal((rows, cols)) * scale).astype(np.float32)


def gen_float_cases(out, rng, index):
    x = random_floats(rng, 4, 64).reshape(-1)
    specials = [0.0, -0.0, np.inf, -np.inf, 1e-40, -1e-45, 3.4e38, 1.0]
    x[: len(specials)] = specials
    write_case(out, index, "f32_random", T.F32, x.view(np.uint8).reshape(4, -1), 64, "random")

    h = random_floats(rng, 4, 64).reshape(-1)
    # f16 specials: zeros, infinities, overflow to inf, subnormals (smallest 2^-24), max.
    specials = [0.0, -0.0, np.inf, -np.inf, 1e6, 6e-8, -3e-6, 65504.0, 6.1e-5, -1.0]
    h[: len(specials)] = specials
    with np.errstate(over="ignore"):  # 1e6 overflowing to inf is intended
        raw = quantize(h.reshape(4, 64), T.F16).view(np.uint8)
    write_case(out, index, "f16_random", T.F16, raw, 64, "random")


def gen_legacy_cases(out, rng, index):
    for qtype in (T.Q4_0, T.Q5_0, T.Q8_0):
        x = random_floats(rng, 8, 128)
        x[0, :32] = 0.0  # an all-zero block (d = 0)
        raw = quantize(x, qtype)
        write_case(out, index, f"{qtype.name.lower()}_random", qtype, raw, 128, "random")


def sane_f16(rng, n):
    """Finite f16 values of moderate magnitude and random sign, as raw little-endian bytes."""
    v = (10.0 ** rng.uniform(-5, 0, size=n)) * rng.choice([-1.0, 1.0], size=n)
    return v.astype("<f2").view(np.uint8).reshape(n, 2)


def gen_k_cases(out, rng, index):
    n = 8
    for qtype, d_at in ((T.Q4_K, [0, 2]), (T.Q5_K, [0, 2]), (T.Q6_K, [208])):
        _, nbytes = block_size(qtype)
        raw = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
        for at in d_at:
            raw[:, at : at + 2] = sane_f16(rng, n)
        raw[1, d_at[0] : d_at[0] + 2] = [0x01, 0x00]  # a subnormal super-block scale
        write_case(out, index, f"{qtype.name.lower()}_random", qtype, raw.reshape(-1), 256, "random")


def gen_added_cases(out, index):
    """The types added after the first set, from their own generator so the older cases' data
    stays byte for byte what it was."""
    rng = np.random.default_rng(20250512)
    # Odd rows (63 elements: the GPU layout pads each row with a zero half), finite specials: zeros,
    # f32 subnormals, a huge value, values that bf16 rounds.
    x = random_floats(rng, 4, 63)
    x.reshape(-1)[:7] = [0.0, -0.0, 1e-40, -9e-41, 3.0e38, 1.0, -1.0e-3]
    write_case(out, index, "bf16_random", T.BF16, quantize(x, T.BF16).view(np.uint8), 63, "random")
    # Non-finite values (kept apart: the GPU matmul tests skip cases holding them): infinities, a
    # value that rounds up to inf, a NaN (quieted by the quantizer).
    x = np.array([[np.inf, -np.inf, 3.4e38, np.nan, -np.nan, 65504.0, 1e-45]], dtype=np.float32)
    write_case(out, index, "bf16_special", T.BF16, quantize(x, T.BF16).view(np.uint8), 7, "special values")

    for qtype in (T.Q4_1, T.Q5_1):
        x = random_floats(rng, 8, 128)
        x[0, :32] = 0.0  # an all-zero block (d = 0, m = 0)
        x[1, 32:64] = 2.5  # a constant block (d = 0, m = 2.5)
        raw = quantize(x, qtype)
        write_case(out, index, f"{qtype.name.lower()}_random", qtype, raw, 128, "random")

    n = 8
    for qtype, d_at in ((T.Q2_K, [80, 82]), (T.Q3_K, [108])):
        _, nbytes = block_size(qtype)
        raw = rng.integers(0, 256, size=(n, nbytes), dtype=np.uint8)
        for at in d_at:
            raw[:, at : at + 2] = sane_f16(rng, n)
        raw[1, d_at[0] : d_at[0] + 2] = [0x01, 0x00]  # a subnormal super-block scale
        write_case(out, index, f"{qtype.name.lower()}_random", qtype, raw.reshape(-1), 256, "random")


def gen_model_cases(out, model, index):
    reader = gguf.GGUFReader(str(model))
    # (type, tensor, first row, rows): about 8k elements per case keeps the data small.
    picks = [
        (T.Q4_K, "blk.3.attn_output.weight", 100, 8),
        (T.Q6_K, "blk.4.ffn_down.weight", 300, 4),
        (T.Q5_0, "blk.2.ffn_gate.weight", 1000, 12),
        (T.Q8_0, "token_embd.weight", 4096, 12),
        (T.F32, "blk.0.attn_norm.weight", 0, 1),
    ]
    tensors = {t.name: t for t in reader.tensors}
    for qtype, name, first, rows in picks:
        t = tensors[name]
        assert t.tensor_type == qtype, (name, t.tensor_type)
        cols = int(t.shape[0])
        data = np.asarray(t.data).view(np.uint8)
        data = data.reshape(-1, data.size // int(np.prod(t.shape[1:], dtype=np.int64)))
        raw = data[first : first + rows]
        source = f"{model.name}:{name}[rows {first}..{first + rows}]"
        write_case(out, index, f"{qtype.name.lower()}_model", qtype, raw, cols, source)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT, help="output folder")
    ap.add_argument("--model", type=pathlib.Path, default=DEFAULT_MODEL)
    args = ap.parse_args()
    model = args.model if args.model.is_file() else None
    if model is None:
        print(f"warning: {args.model} not found, no real-model cases")

    def build(out):
        rng = np.random.default_rng(20240607)
        index = [
            "# Generated by scripts/gen_quant_testdata.py; expected values from gguf.quants.dequantize",
            f"# (gguf-py {importlib.metadata.version('gguf')}, numpy {np.__version__}).",
            "# <name> <TYPE> <n_blocks> <cols> <source>",
        ]
        gen_float_cases(out, rng, index)
        gen_legacy_cases(out, rng, index)
        gen_k_cases(out, rng, index)
        gen_added_cases(out, index)
        if model is not None:
            gen_model_cases(out, model, index)
        (out / "index.txt").write_text("\n".join(index) + "\n")
        total = sum(p.stat().st_size for p in out.iterdir())
        print(f"wrote {len(index) - 3} cases, {total} bytes, to {args.out}")

    publish(args.out, build, f"model: {model.name if model else 'none'}\n")


if __name__ == "__main__":
    main()
