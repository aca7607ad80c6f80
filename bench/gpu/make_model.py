#!/usr/bin/env python3
"""Writes a benchmark model: a real model's GGUF header with random tensor data of the same types.

The GPU machine cannot download anything and at most 64 MiB travels per call, so the real model
(253 MB) cannot go there. Its header can (metadata, tokenizer, tensor table: 6.5 MB for
gemma-3-270m). Speed depends on shapes and block types, not on the weights' values, so a file with
the real header and random but valid blocks runs exactly the same kernels for brasa and llama.cpp.

    make_model.py --header model.header --out bench.gguf   # header from pack_header()
    make_model.py --like models/real.gguf --out bench.gguf  # straight from a real model
    make_model.py --like models/real.gguf --write-header model.header

A header file is the real file's first `data_offset` bytes followed by an 8-byte little-endian
trailer holding the real file's total length.

Random blocks are made valid by writing small finite f16 scale fields over the random bytes (so no
NaN or Inf reaches either runtime); f32/f16 tensors get small normal values.
"""
import argparse
import os
import shutil
import struct
import sys
import tempfile

import numpy as np
import gguf

Q = gguf.GGMLQuantizationType
# Byte offsets of the f16 scale fields inside one block of each type (from ggml's block layouts).
F16_FIELDS = {
    Q.Q4_0: [0],
    Q.Q4_1: [0, 2],
    Q.Q5_0: [0],
    Q.Q5_1: [0, 2],
    Q.Q8_0: [0],
    Q.Q2_K: [80, 82],
    Q.Q3_K: [108],
    Q.Q4_K: [0, 2],
    Q.Q5_K: [0, 2],
    Q.Q6_K: [208],
}


def pack_header(real_path, header_path):
    reader = gguf.GGUFReader(real_path)
    data_offset = min(t.data_offset for t in reader.tensors)
    with open(real_path, "rb") as src, open(header_path, "wb") as dst:
        dst.write(src.read(data_offset))
        dst.write(struct.pack("<Q", os.path.getsize(real_path)))


def sparse_copy_of_header(header_path, out_path):
    """A file of the real length holding the real header; the data region reads as zeros."""
    with open(header_path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        sys.exit(f"{header_path}: too short to be a header file")
    (total,) = struct.unpack("<Q", blob[-8:])
    header = blob[:-8]
    if total < len(header):
        sys.exit(f"{header_path}: trailer says {total} bytes, less than the header itself")
    with open(out_path, "wb") as f:
        f.write(header)
        f.truncate(total)


def random_tensor_bytes(ttype, n_bytes, rng):
    if ttype == Q.F32:
        return (rng.standard_normal(n_bytes // 4) * 0.02).astype("<f4").tobytes()
    if ttype == Q.F16:
        return (rng.standard_normal(n_bytes // 2) * 0.02).astype("<f2").tobytes()
    if ttype not in F16_FIELDS:
        sys.exit(f"make_model: no random-block recipe for {ttype.name}")
    block_bytes = gguf.GGML_QUANT_SIZES[ttype][1]
    blocks = rng.integers(0, 256, size=(n_bytes // block_bytes, block_bytes), dtype=np.uint8)
    scales = (rng.uniform(1e-3, 1e-2, size=(blocks.shape[0], 1))).astype("<f2").view(np.uint8)
    for off in F16_FIELDS[ttype]:
        blocks[:, off : off + 2] = scales
    return blocks.tobytes()


def fill_random(path, seed):
    reader = gguf.GGUFReader(path)
    tensors = [(t.name, Q(t.tensor_type), int(t.data_offset), int(t.n_bytes)) for t in reader.tensors]
    del reader  # release the memory map before writing
    rng = np.random.default_rng(seed)
    with open(path, "r+b") as f:
        for name, ttype, offset, n_bytes in tensors:
            f.seek(offset)
            f.write(random_tensor_bytes(ttype, n_bytes, rng))
    return tensors


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--header", help="header file written by --write-header")
    src.add_argument("--like", help="a real GGUF model")
    ap.add_argument("--out", help="benchmark model to write")
    ap.add_argument("--write-header", help="with --like: write its header file here and stop")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    if args.write_header:
        if not args.like:
            sys.exit("--write-header needs --like")
        pack_header(args.like, args.write_header)
        print(f"wrote {args.write_header} ({os.path.getsize(args.write_header)} bytes)")
        return
    if not args.out:
        sys.exit("--out is required")
    if args.like:
        with tempfile.TemporaryDirectory() as tmp:
            header = os.path.join(tmp, "model.header")
            pack_header(args.like, header)
            sparse_copy_of_header(header, args.out)
    else:
        sparse_copy_of_header(args.header, args.out)
    tensors = fill_random(args.out, args.seed)
    kinds = sorted({t[1].name for t in tensors})
    print(f"wrote {args.out}: {len(tensors)} tensors ({', '.join(kinds)}), {os.path.getsize(args.out)} bytes")


if __name__ == "__main__":
    main()
