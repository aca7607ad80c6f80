//! The GGUF reader against the reference writer: fixtures written by the Python `gguf` package
//! (scripts/make_gguf_fixtures.py), whose JSON sidecars hold the metadata as given to the writer,
//! the tensor layout as gguf-py's GGUFReader reads it, and each tensor's bytes. Exact equality
//! throughout (no tolerances: nothing is computed). Plus the real model's header, when present.
//! The fixtures are generated, never committed: target/test-data/gguf (see fixtures/mod.rs).

mod fixtures;

use std::path::{Path, PathBuf};

use brasa::gguf::{read_header, ArrayValue, GgufFile, GgufReader, Value};
use serde_json::{json, Value as Json};

/// Reads a file of the generated fixtures, naming it if that fails.
fn read_fixture(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Streams `bytes` in chunks of the given sizes (cycled) and returns the file and the
/// concatenated data of each tensor.
fn stream(bytes: &[u8], sizes: &[usize]) -> (GgufFile, Vec<Vec<u8>>) {
    let mut reader = GgufReader::new(bytes.len() as u64);
    let mut data: Vec<Vec<u8>> = Vec::new();
    let (mut at, mut i) = (0, 0);
    while at < bytes.len() {
        let n = sizes[i % sizes.len()].min(bytes.len() - at);
        i += 1;
        reader
            .push(&bytes[at..at + n], &mut |p| {
                if data.len() <= p.tensor {
                    data.resize(p.tensor + 1, Vec::new());
                }
                assert_eq!(p.offset, data[p.tensor].len() as u64);
                data[p.tensor].extend_from_slice(p.bytes);
                Ok(())
            })
            .unwrap();
        at += n;
    }
    let file = reader.finish().unwrap();
    data.resize(file.tensors.len(), Vec::new());
    (file, data)
}

/// A value in the sidecar's JSON form: `{"t": type, "v": value}`, arrays
/// `{"t": "array", "elem": type, "v": [...]}` with nested arrays as objects again.
fn to_json(v: &Value) -> Json {
    let (t, v) = match v {
        Value::U8(x) => ("u8", json!(x)),
        Value::I8(x) => ("i8", json!(x)),
        Value::U16(x) => ("u16", json!(x)),
        Value::I16(x) => ("i16", json!(x)),
        Value::U32(x) => ("u32", json!(x)),
        Value::I32(x) => ("i32", json!(x)),
        Value::F32(x) => ("f32", json!(*x as f64)),
        Value::Bool(x) => ("bool", json!(x)),
        Value::String(x) => ("string", json!(x)),
        Value::U64(x) => ("u64", json!(x)),
        Value::I64(x) => ("i64", json!(x)),
        Value::F64(x) => ("f64", json!(x)),
        Value::Array(a) => return array_json(a),
    };
    json!({"t": t, "v": v})
}

fn array_json(a: &ArrayValue) -> Json {
    let (elem, v) = match a {
        ArrayValue::U8(x) => ("u8", json!(x)),
        ArrayValue::I8(x) => ("i8", json!(x)),
        ArrayValue::U16(x) => ("u16", json!(x)),
        ArrayValue::I16(x) => ("i16", json!(x)),
        ArrayValue::U32(x) => ("u32", json!(x)),
        ArrayValue::I32(x) => ("i32", json!(x)),
        ArrayValue::F32(x) => ("f32", json!(x.iter().map(|&f| f as f64).collect::<Vec<_>>())),
        ArrayValue::Bool(x) => ("bool", json!(x)),
        ArrayValue::String(x) => ("string", json!(x)),
        ArrayValue::Array(x) => ("array", Json::Array(x.iter().map(array_json).collect())),
        ArrayValue::U64(x) => ("u64", json!(x)),
        ArrayValue::I64(x) => ("i64", json!(x)),
        ArrayValue::F64(x) => ("f64", json!(x)),
    };
    json!({"t": "array", "elem": elem, "v": v})
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn check_fixture(name: &str) {
    let Some(dir) = fixtures::gguf_fixtures_dir() else { return };
    let bytes = read_fixture(&dir.join(format!("{name}.gguf")));
    let expect: Json = serde_json::from_slice(&read_fixture(&dir.join(format!("{name}.json")))).unwrap();
    let mut seed = 12345u64;
    let random: Vec<usize> = (0..50)
        .map(|_| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as usize % 200
        })
        .collect();
    let patterns = [vec![bytes.len()], vec![1], vec![2, 5, 0, 11], vec![1 << 20], random];
    for sizes in &patterns {
        let (file, data) = stream(&bytes, sizes);
        assert_eq!(file.version as u64, expect["version"].as_u64().unwrap());
        assert_eq!(file.alignment, expect["alignment"].as_u64().unwrap());
        assert_eq!(file.data_offset, expect["data_offset"].as_u64().unwrap());
        assert_eq!(file.file_len, expect["file_len"].as_u64().unwrap());
        let got: Vec<Json> = file
            .metadata
            .entries
            .iter()
            .map(|(k, v)| {
                let mut j = to_json(v);
                j["key"] = json!(k);
                j
            })
            .collect();
        assert_eq!(Json::Array(got), expect["metadata"], "{name} metadata");
        let tensors = expect["tensors"].as_array().unwrap();
        assert_eq!(file.tensors.len(), tensors.len());
        for ((t, d), e) in file.tensors.iter().zip(&data).zip(tensors) {
            assert_eq!(t.name, e["name"].as_str().unwrap());
            let dims: Vec<u64> = e["dims"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect();
            assert_eq!(t.dims, dims, "{}", t.name);
            assert_eq!(t.type_id as u64, e["type_id"].as_u64().unwrap(), "{}", t.name);
            assert_eq!(t.offset, e["offset"].as_u64().unwrap(), "{}", t.name);
            assert_eq!(t.n_bytes, e["n_bytes"].as_u64().unwrap(), "{}", t.name);
            assert_eq!(*d, hex(e["data"].as_str().unwrap()), "{} data, chunks {sizes:?}", t.name);
        }
    }
    // read_header gives the same header.
    let (streamed, _) = stream(&bytes, &[bytes.len()]);
    let header = read_header(&dir.join(format!("{name}.gguf"))).unwrap();
    assert_eq!(header.metadata, streamed.metadata);
    assert_eq!(header.tensors, streamed.tensors);
    // The typed getters on real gguf-py output.
    assert_eq!(header.metadata.get_str("general.architecture").unwrap(), "fixture");
    assert_eq!(header.metadata.get_u32("t.u16").unwrap(), 65000);
    assert_eq!(header.metadata.get_i32_array("a.i32").unwrap(), [1, 2, 3, 6, -1]);
    assert_eq!(header.metadata.get_str_array("a.string").unwrap()[3], "▁the");
    assert_eq!(header.metadata.get_f32("t.f64").unwrap(), -1234567.890625f64 as f32);
    assert!(header.metadata.get_u32("t.i8").is_err());
}

#[test]
fn gguf_py_fixture_v3() {
    check_fixture("all_types_v3");
}

#[test]
fn gguf_py_fixture_v2_custom_alignment() {
    check_fixture("all_types_v2_align64");
}

/// The real model's path: $BRASA_TEST_MODEL, else models/gemma-3-270m-q4_k_m.gguf in the repo.
fn real_model() -> Option<PathBuf> {
    let path = std::env::var_os("BRASA_TEST_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/gemma-3-270m-q4_k_m.gguf"));
    if path.exists() {
        Some(path)
    } else {
        eprintln!("skipping: model not found at {} (set BRASA_TEST_MODEL)", path.display());
        None
    }
}

#[test]
fn real_model_header_and_stream() {
    use std::io::{Read, Seek, SeekFrom};
    let Some(path) = real_model() else { return };
    let t0 = std::time::Instant::now();
    let file = read_header(&path).unwrap();
    let header_time = t0.elapsed();
    let len = std::fs::metadata(&path).unwrap().len();
    assert_eq!(file.tensors.len(), 236);
    assert_eq!(file.metadata.get_str("general.architecture").unwrap(), "gemma3");
    assert_eq!(file.metadata.get_str_array("tokenizer.ggml.tokens").unwrap().len(), 262144);
    let embd = file.tensor("token_embd.weight").unwrap();
    assert_eq!((embd.type_id, embd.dims.as_slice()), (8, &[640u64, 262144][..]));
    let total: u64 = file.tensors.iter().map(|t| t.n_bytes).sum();
    assert!(file.data_offset + total <= len);

    // The header in small odd chunks: the parser resumes inside the 262,144-entry arrays
    // instead of starting them over, so this stays linear.
    let head = {
        let mut head = vec![0u8; file.data_offset as usize];
        std::fs::File::open(&path).unwrap().read_exact(&mut head).unwrap();
        head
    };
    let t0 = std::time::Instant::now();
    let mut reader = GgufReader::new(len);
    for piece in head.chunks(97) {
        reader.push(piece, &mut |_| Ok(())).unwrap();
    }
    let small_chunks_time = t0.elapsed();
    assert_eq!(reader.file().unwrap().tensors, file.tensors);

    // Stream the whole file in 1 MiB chunks; time only the reader, not the disk.
    let mut f = std::fs::File::open(&path).unwrap();
    let mut reader = GgufReader::new(len);
    let mut buf = vec![0u8; 1 << 20];
    let (mut parse_time, mut streamed) = (std::time::Duration::ZERO, vec![0u64; 236]);
    let mut embd_hash = 0xcbf29ce484222325u64; // FNV-1a of token_embd's bytes
    let embd_index = file.tensors.iter().position(|t| t.name == "token_embd.weight").unwrap();
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        let t = std::time::Instant::now();
        reader
            .push(&buf[..n], &mut |p| {
                streamed[p.tensor] += p.bytes.len() as u64;
                if p.tensor == embd_index && p.offset < 4096 {
                    for &b in &p.bytes[..p.bytes.len().min((4096 - p.offset) as usize)] {
                        embd_hash = (embd_hash ^ b as u64).wrapping_mul(0x100000001b3);
                    }
                }
                Ok(())
            })
            .unwrap();
        parse_time += t.elapsed();
    }
    let streamed_file = reader.finish().unwrap();
    assert_eq!(streamed_file.tensors, file.tensors);
    for (t, n) in file.tensors.iter().zip(&streamed) {
        assert_eq!(*n, t.n_bytes, "{}", t.name);
    }
    // The first 4 KiB of token_embd as streamed equal the bytes at its place in the file.
    let mut direct = vec![0u8; 4096];
    f.seek(SeekFrom::Start(file.data_range(embd).start)).unwrap();
    f.read_exact(&mut direct).unwrap();
    let direct_hash =
        direct.iter().fold(0xcbf29ce484222325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100000001b3));
    assert_eq!(embd_hash, direct_hash);
    eprintln!(
        "real model: header {} bytes parsed in {header_time:?} (read_header), in \
         {small_chunks_time:?} pushed in 97-byte chunks; whole {len}-byte file pushed in 1 MiB \
         chunks: {parse_time:?} in the reader",
        file.data_offset
    );
}

/// The real model's whole header against gguf-py's reading of it
/// (target/test-data/gguf/gemma-3-270m-q4_k_m.header.json, made by scripts/make_gguf_fixtures.py).
#[test]
fn real_model_matches_gguf_py() {
    let Some(path) = real_model() else { return };
    let Some(dir) = fixtures::gguf_fixtures_dir() else { return };
    let expect: Json =
        serde_json::from_slice(&read_fixture(&dir.join("gemma-3-270m-q4_k_m.header.json"))).unwrap();
    let file = read_header(&path).unwrap();
    assert_eq!(file.data_offset, expect["data_offset"].as_u64().unwrap());
    assert_eq!(file.file_len, expect["file_len"].as_u64().unwrap());
    let meta = expect["metadata"].as_array().unwrap();
    assert_eq!(file.metadata.entries.len(), meta.len());
    for ((key, value), e) in file.metadata.entries.iter().zip(meta) {
        assert_eq!(key, e[0].as_str().unwrap());
        assert_eq!(value.type_name(), e[1].as_str().unwrap(), "{key}");
        match value {
            Value::Array(a) => assert_eq!(a.len() as u64, e[2].as_u64().unwrap(), "{key}"),
            // gguf-py prints the f32 widened to f64: compare in f32.
            Value::F32(x) => assert_eq!(*x, e[2].as_f64().unwrap() as f32, "{key}"),
            v => assert_eq!(to_json(v)["v"], e[2], "{key}"),
        }
    }
    let tensors = expect["tensors"].as_array().unwrap();
    assert_eq!(file.tensors.len(), tensors.len());
    for (t, e) in file.tensors.iter().zip(tensors) {
        let dims: Vec<u64> = e[1].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect();
        assert_eq!(
            (t.name.as_str(), t.dims.clone(), t.type_id as u64, t.offset, t.n_bytes),
            (
                e[0].as_str().unwrap(),
                dims,
                e[2].as_u64().unwrap(),
                e[3].as_u64().unwrap(),
                e[4].as_u64().unwrap()
            )
        );
    }
}
