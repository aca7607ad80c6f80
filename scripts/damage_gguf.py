#!/usr/bin/env python3
"""Damaged variants of a valid GGUF model, for the damaged-file tests (issue 9): prints a JSON list
of cases, each a change to the file and the error brasa must give for it.

    .venv/bin/python scripts/damage_gguf.py MODEL.gguf > cases.json

A case is {"name", "cut": N} (the file's first N bytes) or {"name", "patches": [{"at", "hex"}]}
(bytes overwritten in place; the length never changes), with "code" (brasa's error code),
"offset" (the byte the error must name: "at byte N" in its message) or "max_offset" (for a
truncated file, where the parser may stop at the count that announced what is missing: any byte
up to the cut), and "words" the message must contain.

The positions come from the `gguf` package's own reader (GGUFReader: every field's offset and
parts), not from brasa's parser, so they check it independently. Cases: truncation at every
section boundary (each field of the preamble, each metadata entry, each tensor-table entry, the
data section, each tensor's data, the last byte); bit flips in the magic, the version and the
counts; absurd string and array lengths; dimensions whose product overflows; a tensor's data
past the end of the file or overlapping another; an unknown tensor type; a duplicate key;
non-UTF-8 text in a key and in a token; and an embedding whose rows do not match the tokenizer's
vocabulary.
"""
import json
import struct
import sys

import gguf


def part_offsets(field):
    """The byte offset of each part of a reader field (key length, key, type, value parts...)."""
    out, at = [], field.offset
    for p in field.parts:
        out.append(at)
        at += p.nbytes
    return out


def patch(at, data):
    return {"at": at, "hex": data.hex()}


def main(path):
    r = gguf.GGUFReader(path)
    size = len(r.data)
    fields = [f for name, f in r.fields.items() if not name.startswith("GGUF.")]
    tensors = r.tensors
    info_start = tensors[0].field.offset
    info_end = tensors[-1].field.offset + sum(p.nbytes for p in tensors[-1].field.parts)
    data_start = r.data_offset
    cases = []

    # Truncation at every section boundary: preamble fields, metadata entries, tensor-table
    # entries, the end of the header, the data section, each tensor's data, the last byte.
    boundaries = {0: "empty file", 4: "after the magic", 8: "after the version", 16: "after the tensor count",
                  24: "after the metadata count"}
    for f in fields:
        boundaries.setdefault(f.offset, f"at metadata entry {f.name}")
    for t in tensors:
        boundaries.setdefault(t.field.offset, f"at the tensor-table entry of {t.name}")
        boundaries.setdefault(t.data_offset, f"at the data of {t.name}")
    boundaries.setdefault(info_end, "at the end of the header")
    boundaries.setdefault(data_start, "at the data section")
    boundaries.setdefault(size - 1, "one byte short")
    for cut, where in sorted(boundaries.items()):
        case = {"name": f"cut at byte {cut} ({where})", "cut": cut}
        if cut >= data_start:
            # The header is whole: the first tensor (in table order) whose data does not fit in
            # the shorter file is named at its tensor-table entry.
            first = next(t for t in tensors if t.data_offset + t.n_bytes > cut)
            case.update(code="bad_file", offset=first.field.offset, words="past the end of the file")
        else:
            case.update(code=["truncated", "bad_file"], max_offset=cut, words="")
        cases.append(case)

    # Bit flips in the preamble: the magic, the version (3 -> 7), the counts' top bit.
    cases.append({"name": "bit flip in the magic", "patches": [patch(0, bytes([r.data[0] ^ 0x02]))],
                  "code": "bad_file", "offset": 0, "words": "magic"})
    version = int(r.fields["GGUF.version"].parts[0][0])
    cases.append({"name": "bit flip in the version", "patches": [patch(4, struct.pack("<I", version ^ 4))],
                  "code": "unsupported_version", "offset": 4, "words": f"version {version ^ 4}"})
    for at, what in [(8, "tensor count"), (16, "key-value count")]:
        cases.append({"name": f"absurd {what} (top bit flipped)", "patches": [patch(at + 7, bytes([r.data[at + 7] ^ 0x80]))],
                      "code": "bad_file", "offset": at, "words": what})

    # Absurd lengths: a key, a string value, an array.
    first = fields[0]
    cases.append({"name": f"absurd key length ({first.name})", "patches": [patch(first.offset, struct.pack("<Q", 1 << 62))],
                  "code": "bad_file", "offset": first.offset, "words": "string length"})
    string_kv = next(f for f in fields if f.types == [gguf.GGUFValueType.STRING])
    value_len_at = part_offsets(string_kv)[3]
    cases.append({"name": f"absurd string length ({string_kv.name})", "patches": [patch(value_len_at, struct.pack("<Q", 1 << 50))],
                  "code": "bad_file", "offset": value_len_at, "words": "string length"})
    tokens = r.fields["tokenizer.ggml.tokens"]
    count_at = part_offsets(tokens)[4]
    cases.append({"name": "absurd array length (tokenizer.ggml.tokens)", "patches": [patch(count_at, struct.pack("<Q", 1 << 61))],
                  "code": "bad_file", "offset": count_at, "words": "array length"})

    # Duplicate key: a later key renamed to an earlier one of the same length.
    dup = next((a, b) for i, a in enumerate(fields) for b in fields[i + 1:] if len(a.name) == len(b.name))
    cases.append({"name": f"duplicate key ({dup[0].name})", "patches": [patch(dup[1].offset + 8, dup[0].name.encode())],
                  "code": "bad_file", "offset": dup[1].offset, "words": "duplicate metadata key"})

    # Non-UTF-8: the first byte of a key, and of a token's text.
    key = fields[1]
    cases.append({"name": f"non-UTF-8 key ({key.name})", "patches": [patch(key.offset + 8, b"\xff")],
                  "code": "bad_file", "offset": key.offset + 8, "words": "UTF-8"})
    token_i = 100
    token_len_at = part_offsets(tokens)[5 + 2 * token_i]
    cases.append({"name": f"non-UTF-8 token text (token {token_i})", "patches": [patch(token_len_at + 8, b"\xff")],
                  "code": "bad_file", "offset": token_len_at + 8, "words": "UTF-8"})

    # Tensor table: dims whose product overflows, data past the end, overlapping data, unknown type.
    matrix = next(t for t in tensors if len(t.shape) == 2 and t.name != "token_embd.weight")
    offs = part_offsets(matrix.field)  # name length, name, n_dims, dims, type, offset
    cases.append({"name": f"dims whose product overflows ({matrix.name})",
                  "patches": [patch(offs[3], struct.pack("<QQ", 1 << 32, 1 << 32))],
                  "code": "bad_file", "offset": matrix.field.offset, "words": "overflows"})
    cases.append({"name": f"tensor data past the end ({matrix.name})", "patches": [patch(offs[5], struct.pack("<Q", 1 << 40))],
                  "code": "bad_file", "offset": matrix.field.offset, "words": "past the end of the file"})
    big = max(tensors, key=lambda t: t.n_bytes)
    small = next(t for t in tensors if t is not big and t.n_bytes <= big.n_bytes - 2 * r.alignment)
    overlap_at = big.data_offset - data_start + r.alignment
    small_offs = part_offsets(small.field)
    cases.append({"name": f"overlapping tensor data ({small.name} inside {big.name})",
                  "patches": [patch(small_offs[5], struct.pack("<Q", overlap_at))],
                  "code": "bad_file", "offset": small.field.offset, "words": f"overlaps tensor \"{big.name}\""})
    cases.append({"name": f"unknown tensor type 99 ({matrix.name})", "patches": [patch(offs[4], struct.pack("<I", 99))],
                  "code": "unsupported_type", "offset": matrix.field.offset, "words": "ggml type 99"})

    # A vocabulary that does not match the embedding: one row fewer in token_embd.
    embd = next(t for t in tensors if t.name == "token_embd.weight")
    embd_offs = part_offsets(embd.field)
    n_embd, n_vocab = (int(d) for d in embd.field.parts[3])
    cases.append({"name": f"embedding rows ({n_vocab - 1}) differ from the vocabulary ({n_vocab})",
                  "patches": [patch(embd_offs[3], struct.pack("<QQ", n_embd, n_vocab - 1))],
                  "code": "invalid_model", "offset": embd.field.offset, "words": f"tokenizer has {n_vocab} tokens"})

    json.dump({"file": path, "bytes": size, "cases": cases}, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main(sys.argv[1])
