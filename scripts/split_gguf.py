#!/usr/bin/env python3
"""Rewrites a GGUF file as split files (`NAME-00001-of-0000N.gguf` …) with the `gguf` package's
writer — the same writer llama.cpp's convert script uses for `--split-max-tensors` — so that the
tests load split files made by an independent implementation.

    .venv/bin/python scripts/split_gguf.py IN.gguf OUT_DIR MAX_TENSORS_PER_FILE

Metadata goes into the first file only (with split.no / split.count / split.tensors.count in
every file); tensor bytes are copied unchanged. Prints the paths written, one per line.
"""
import sys
from pathlib import Path

import numpy as np
import gguf


def main(src, out_dir, max_tensors):
    r = gguf.GGUFReader(src)
    arch = r.fields["general.architecture"].contents()
    out = Path(out_dir) / Path(src).name
    w = gguf.GGUFWriter(out, arch, split_max_tensors=max_tensors)
    for name, f in r.fields.items():
        if name.startswith("GGUF.") or name == "general.architecture":
            continue  # the writer writes these itself
        vtype = f.types[0]
        sub = f.types[1] if vtype == gguf.GGUFValueType.ARRAY else None
        w.add_key_value(name, f.contents(), vtype, sub_type=sub)
    for t in r.tensors:
        # The reader's array has numpy order (bytes per row last for quantized types), which is
        # what the writer takes back.
        w.add_tensor(t.name, np.asarray(t.data), raw_dtype=t.tensor_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    n = len(w.tensors)
    for i in range(n):
        print(out.with_name(gguf.SHARD_NAME_FORMAT.format(out.stem, i + 1, n)) if n > 1 else out)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
