# Writes an F32 copy of a GGUF model (every tensor dequantized with gguf-py): used to make the
# "f32_dequantized" llama.cpp reference runs (tests/reference/README.md). Usage: SRC DST
import sys, numpy as np, gguf
src, dst = sys.argv[1], sys.argv[2]
r = gguf.GGUFReader(src)
arch = r.fields['general.architecture'].contents()
w = gguf.GGUFWriter(dst, arch)
for name, f in r.fields.items():
    if name.startswith('GGUF.') or name == 'general.architecture':
        continue
    vt = f.types[0]
    sub = f.types[1] if vt == gguf.GGUFValueType.ARRAY else None
    w.add_key_value(name, f.contents(), vt, sub_type=sub)
for t in r.tensors:
    data = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
    shape = tuple(int(x) for x in reversed(t.shape))  # numpy order: rows first
    w.add_tensor(t.name, data.reshape(shape), raw_dtype=gguf.GGMLQuantizationType.F32)
w.write_header_to_file(); w.write_kv_data_to_file(); w.write_tensors_to_file(); w.close()
print("ok")
