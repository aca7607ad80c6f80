#!/usr/bin/env python3
"""Writes a copy of a (small) GGUF model with one extra, unused F32 tensor that makes the file
SIZE_GIB GiB, for tests of files past 2 GiB and 4 GiB. The extra tensor comes last and its data
is a hole (a sparse file): writing takes no time and no disk space, and reading it gives zeros.

    .venv/bin/python scripts/make_big_gguf.py IN.gguf OUT.gguf SIZE_GIB

The model is unchanged: brasa skips tensors its architecture does not use, so the big file must
give the same logits as IN.gguf.
"""
import sys

import numpy as np
import gguf


def main(src, out, size_gib):
    r = gguf.GGUFReader(src)
    w = gguf.GGUFWriter(out, r.fields["general.architecture"].contents())
    for name, f in r.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue
        sub = f.types[1] if f.types[0] == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(name, f.contents(), f.types[0], sub_type=sub)
    for t in r.tensors:
        w.add_tensor(t.name, np.asarray(t.data), raw_dtype=t.tensor_type)
    small = sum(gguf.GGUFWriter.ggml_pad(int(t.n_bytes), w.data_alignment) for t in r.tensors)
    n = (int(size_gib * 2**30) - small) // 4
    w.add_tensor_info("unused.padding.weight", [n], np.dtype(np.float32), n * 4)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    f = w.fout[0]
    w.write_padding(f, f.tell())
    for t in r.tensors:
        np.asarray(t.data).tofile(f)
        w.write_padding(f, f.tell())
    f.truncate(f.tell() + n * 4)  # the hole
    f.close()


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], float(sys.argv[3]))
