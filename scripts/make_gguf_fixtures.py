#!/usr/bin/env python3
"""Writes the small GGUF fixtures for crate/tests/gguf_reader.rs with the reference writer,
the PyPI `gguf` package (GGUFWriter), plus a JSON file per fixture with what the Rust reader must
find: the metadata exactly as given to the writer, the tensor layout as gguf-py's own GGUFReader
reads it back, and each tensor's bytes (numpy's, hex).

    .venv/bin/python scripts/make_gguf_fixtures.py [--out DIR] [MODEL]

(tested with gguf 0.19.0, numpy 2). Output: DIR/*.gguf and *.json (DIR defaults to
target/test-data/gguf in the repo); with the model (default models/gemma-3-270m-q4_k_m.gguf, if it
is there), also gemma-3-270m-q4_k_m.header.json (its header as gguf-py's GGUFReader reads it).
Generated, never committed: scripts/setup.sh --test and the Rust tests (crate/tests/fixtures/) run
this. The folder appears whole or not at all: it is written beside DIR, gets a `.complete` stamp
last (`model: NAME` or `model: none`) and is then renamed into place.
"""
import argparse
import json
import os
import pathlib
import sys

import numpy as np
import gguf
from gguf import GGUFValueType as VT, GGMLQuantizationType as QT

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "lib"))
from publish import publish  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "target" / "test-data" / "gguf"
DEFAULT_MODEL = ROOT / "models" / "gemma-3-270m-q4_k_m.gguf"

# (key, Rust type name, value, writer type). Floats are exact in f32 (f32 keys) and parse
# exactly from JSON with serde_json's fast path (short decimals, exponent <= 22).
SCALARS = [
    ("t.u8", "u8", 250, VT.UINT8),
    ("t.i8", "i8", -120, VT.INT8),
    ("t.u16", "u16", 65000, VT.UINT16),
    ("t.i16", "i16", -32000, VT.INT16),
    ("t.u32", "u32", 4_000_000_000, VT.UINT32),
    ("t.i32", "i32", -2_000_000_000, VT.INT32),
    ("t.f32", "f32", -0.375, VT.FLOAT32),
    ("t.bool", "bool", True, VT.BOOL),
    ("t.string", "string", "Grüße ▁tokens 🙂", VT.STRING),
    ("t.empty_string", "string", "", VT.STRING),
    ("t.u64", "u64", 2**64 - 2, VT.UINT64),
    ("t.i64", "i64", -(2**62), VT.INT64),
    ("t.f64", "f64", -1234567.890625, VT.FLOAT64),
]
ARRAYS = [
    ("a.u8", "u8", [0, 1, 255], VT.UINT8),
    ("a.i8", "i8", [-128, 0, 127], VT.INT8),
    ("a.u16", "u16", [1, 65535], VT.UINT16),
    ("a.i16", "i16", [-32768, 5], VT.INT16),
    ("a.u32", "u32", [7, 4294967295], VT.UINT32),
    ("a.i32", "i32", [1, 2, 3, 6, -1], VT.INT32),
    ("a.f32", "f32", [0.0, -1.5, 1024.25], VT.FLOAT32),
    ("a.bool", "bool", [True, False, True], VT.BOOL),
    ("a.string", "string", ["<pad>", "<eos>", "", "▁the", "日本"], VT.STRING),
    ("a.u64", "u64", [2**63, 3], VT.UINT64),
    ("a.i64", "i64", [-(2**63), 9], VT.INT64),
    ("a.f64", "f64", [0.5, -2.0e-5, 1.0e22], VT.FLOAT64),
]
# gguf-py infers nested element types: int -> i32, float -> f32, str -> string, bool -> bool.
NESTED = [[1, 2, 3], ["a", "bc"], [[0.5], [1.5, 2.5]], [True]]


def typed_nested(v):
    """The JSON form of a nested array value, with gguf-py's inferred element types."""
    kind = gguf.GGUFValueType.get_type(v[0])
    if kind == VT.ARRAY:
        return {"t": "array", "elem": "array", "v": [typed_nested(x) for x in v]}
    name = {VT.INT32: "i32", VT.FLOAT32: "f32", VT.STRING: "string", VT.BOOL: "bool"}[kind]
    return {"t": "array", "elem": name, "v": v}


def tensors(rng):
    """(name, array to write, raw ggml type or None)."""
    q = gguf.quants.quantize
    return [
        ("f32.w", rng.standard_normal((3, 8), dtype=np.float32), None),
        ("f16.w", rng.standard_normal((5,)).astype(np.float16), None),
        ("bf16.w", q(rng.standard_normal((2, 4), dtype=np.float32), QT.BF16), QT.BF16),
        ("q8_0.w", q(rng.standard_normal((2, 64), dtype=np.float32), QT.Q8_0), QT.Q8_0),
        ("q5_0.w", q(rng.standard_normal((1, 32), dtype=np.float32), QT.Q5_0), QT.Q5_0),
        ("q4_k.w", rng.integers(0, 256, (1, 144), dtype=np.uint8), QT.Q4_K),
        ("q6_k.w", rng.integers(0, 256, (2, 210), dtype=np.uint8), QT.Q6_K),
        ("i32.w", np.arange(-2, 5, dtype=np.int32), None),
        ("f32.4d", rng.standard_normal((2, 1, 3, 4), dtype=np.float32), None),
    ]


def write(out, name, version, alignment):
    path = os.path.join(out, name + ".gguf")
    rng = np.random.default_rng(len(name) * 7 + version)
    w = gguf.GGUFWriter(path, arch="fixture")
    meta = [("general.architecture", {"t": "string", "v": "fixture"})]
    if alignment != 32:
        w.add_custom_alignment(alignment)
        meta.append(("general.alignment", {"t": "u32", "v": alignment}))
    for key, t, v, vt in SCALARS:
        w.add_key_value(key, v, vt)
        meta.append((key, {"t": t, "v": v}))
    for key, t, v, vt in ARRAYS:
        w.add_key_value(key, v, VT.ARRAY, sub_type=vt)
        meta.append((key, {"t": "array", "elem": t, "v": v}))
    w.add_key_value("a.nested", NESTED, VT.ARRAY)
    meta.append(("a.nested", typed_nested(NESTED)))
    data = {}
    for tname, arr, raw in tensors(rng):
        w.add_tensor(tname, arr, raw_dtype=raw)
        data[tname] = arr.tobytes().hex()
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    if version != 3:
        # v2 and v3 differ only in that v3 allows big-endian files: patch the version field.
        with open(path, "r+b") as f:
            f.seek(4)
            f.write(version.to_bytes(4, "little"))

    r = gguf.GGUFReader(path)
    assert [k for k, _ in meta] == list(r.fields)[3:], "writer kept our key order"
    expect = {
        "version": version,
        "alignment": int(r.alignment),
        "data_offset": int(r.data_offset),
        "file_len": os.path.getsize(path),
        "metadata": [{"key": k, **v} for k, v in meta],
        "tensors": [
            {
                "name": t.name,
                "dims": [int(d) for d in t.shape],  # ggml order, as stored
                "type_id": int(t.tensor_type),
                "offset": int(t.data_offset) - int(r.data_offset),
                "n_bytes": int(t.n_bytes),
                "data": data[t.name],
            }
            for t in r.tensors
        ],
    }
    for t in expect["tensors"]:
        assert len(bytes.fromhex(t["data"])) == t["n_bytes"], t["name"]
    with open(os.path.join(out, name + ".json"), "w") as f:
        json.dump(expect, f, indent=1, ensure_ascii=False)
        f.write("\n")


def describe_real_model(out, path):
    """The header of a real model as gguf-py reads it: metadata keys with their types (and
    scalar values), and the tensor table. Compact: one line per tensor."""
    r = gguf.GGUFReader(path)
    names = {VT.UINT8: "u8", VT.INT8: "i8", VT.UINT16: "u16", VT.INT16: "i16",
             VT.UINT32: "u32", VT.INT32: "i32", VT.FLOAT32: "f32", VT.BOOL: "bool",
             VT.STRING: "string", VT.UINT64: "u64", VT.INT64: "i64", VT.FLOAT64: "f64"}
    meta = []
    for f in list(r.fields.values())[3:]:  # skip the GGUF.* pseudo-fields
        if f.types[0] == VT.ARRAY:
            meta.append([f.name, "array<%s>" % names[f.types[1]], len(f.data)])
        else:
            v = f.contents()
            meta.append([f.name, names[f.types[0]], v.item() if hasattr(v, "item") else v])
    tensors = [[t.name, [int(d) for d in t.shape], int(t.tensor_type),
                int(t.data_offset) - int(r.data_offset), int(t.n_bytes)] for t in r.tensors]
    with open(os.path.join(out, "gemma-3-270m-q4_k_m.header.json"), "w") as f:
        f.write('{"data_offset": %d, "file_len": %d,\n "metadata": [\n' % (r.data_offset, os.path.getsize(path)))
        f.write(",\n".join("  " + json.dumps(m, ensure_ascii=False) for m in meta))
        f.write('],\n "tensors": [\n')
        f.write(",\n".join("  " + json.dumps(t) for t in tensors))
        f.write("]}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=pathlib.Path, default=DEFAULT_OUT, help="output folder")
    ap.add_argument("model", type=pathlib.Path, nargs="?", default=DEFAULT_MODEL,
                    help="the real model whose header to describe (skipped when absent)")
    args = ap.parse_args()
    model = args.model if args.model.is_file() else None
    if model is None:
        print(f"warning: {args.model} not found, no real-model header")

    def build(out):
        write(out, "all_types_v3", 3, 32)
        write(out, "all_types_v2_align64", 2, 64)
        if model is not None:
            describe_real_model(out, str(model))

    publish(args.out, build, f"model: {model.name if model else 'none'}\n")
    print(f"wrote the GGUF fixtures to {args.out}")


if __name__ == "__main__":
    main()
