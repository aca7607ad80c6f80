//! Shared helpers for the tokenizer integration tests: where the test data lives, and loading a
//! GGUF file's metadata.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use brasa::gguf::Metadata;
use brasa::tokenizer::Tokenizer;

/// The repository root (the crate is in `crate/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// llama.cpp's vocabularies and test cases, as `scripts/fetch-llama-testdata.sh` lays them out
/// (`BRASA_LLAMA_TESTDATA` overrides the folder). `None`, with a message, when absent.
pub fn llama_testdata() -> Option<PathBuf> {
    let dir = std::env::var_os("BRASA_LLAMA_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".cache/llama-testdata"));
    if dir.join("ggml-vocab-llama-spm.gguf").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: llama.cpp test data not found in {} (run scripts/fetch-llama-testdata.sh)",
            dir.display()
        );
        None
    }
}

/// The real gemma-3 model (`models/gemma-3-270m-q4_k_m.gguf`, or `BRASA_GEMMA3_GGUF`). `None`,
/// with a message, when absent.
pub fn gemma3_gguf() -> Option<PathBuf> {
    let path = std::env::var_os("BRASA_GEMMA3_GGUF")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("models/gemma-3-270m-q4_k_m.gguf"));
    if path.is_file() {
        Some(path)
    } else {
        eprintln!(
            "SKIPPED: {} not found (see TOOLING.md: a real model)",
            path.display()
        );
        None
    }
}

/// A tokenizer straight from a GGUF file.
pub fn tokenizer_from_file(path: &Path) -> Tokenizer {
    let md = load_metadata(path);
    Tokenizer::from_gguf(&md).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// INTEGRATOR: once the GGUF reader is merged, replace the body of `load_metadata` with
//
//     brasa::gguf::read_header(path)
//         .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
//         .metadata
//
// and delete `minimal_gguf` below (a stopgap written before brasa had a GGUF reader).
// ---------------------------------------------------------------------------------------------
pub fn load_metadata(path: &Path) -> Metadata {
    minimal_gguf::read_metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Just enough of a GGUF v2/v3 header parser to read the metadata of trusted test files.
mod minimal_gguf {
    use std::fs::File;
    use std::io::{BufReader, Read};
    use std::path::Path;

    use brasa::gguf::{ArrayValue, Metadata, Value};

    type R = BufReader<File>;
    type Res<T> = Result<T, String>;

    fn bytes<const N: usize>(r: &mut R) -> Res<[u8; N]> {
        let mut b = [0u8; N];
        r.read_exact(&mut b).map_err(|e| e.to_string())?;
        Ok(b)
    }
    fn u32_(r: &mut R) -> Res<u32> {
        Ok(u32::from_le_bytes(bytes(r)?))
    }
    fn u64_(r: &mut R) -> Res<u64> {
        Ok(u64::from_le_bytes(bytes(r)?))
    }
    fn string(r: &mut R) -> Res<String> {
        let n = u64_(r)? as usize;
        if n > 1 << 30 {
            return Err(format!("string of {n} bytes"));
        }
        let mut b = vec![0u8; n];
        r.read_exact(&mut b).map_err(|e| e.to_string())?;
        String::from_utf8(b).map_err(|e| e.to_string())
    }

    fn array(r: &mut R) -> Res<ArrayValue> {
        let ty = u32_(r)?;
        let n = u64_(r)? as usize;
        if n > 1 << 28 {
            return Err(format!("array of {n} items"));
        }
        macro_rules! items {
            ($variant:ident, $read:expr) => {{
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push($read);
                }
                ArrayValue::$variant(v)
            }};
        }
        Ok(match ty {
            0 => items!(U8, bytes::<1>(r)?[0]),
            1 => items!(I8, bytes::<1>(r)?[0] as i8),
            2 => items!(U16, u16::from_le_bytes(bytes(r)?)),
            3 => items!(I16, i16::from_le_bytes(bytes(r)?)),
            4 => items!(U32, u32_(r)?),
            5 => items!(I32, i32::from_le_bytes(bytes(r)?)),
            6 => items!(F32, f32::from_le_bytes(bytes(r)?)),
            7 => items!(Bool, bytes::<1>(r)?[0] != 0),
            8 => items!(String, string(r)?),
            9 => items!(Array, array(r)?),
            10 => items!(U64, u64_(r)?),
            11 => items!(I64, i64::from_le_bytes(bytes(r)?)),
            12 => items!(F64, f64::from_le_bytes(bytes(r)?)),
            t => return Err(format!("unknown array type {t}")),
        })
    }

    fn value(r: &mut R, ty: u32) -> Res<Value> {
        Ok(match ty {
            0 => Value::U8(bytes::<1>(r)?[0]),
            1 => Value::I8(bytes::<1>(r)?[0] as i8),
            2 => Value::U16(u16::from_le_bytes(bytes(r)?)),
            3 => Value::I16(i16::from_le_bytes(bytes(r)?)),
            4 => Value::U32(u32_(r)?),
            5 => Value::I32(i32::from_le_bytes(bytes(r)?)),
            6 => Value::F32(f32::from_le_bytes(bytes(r)?)),
            7 => Value::Bool(bytes::<1>(r)?[0] != 0),
            8 => Value::String(string(r)?),
            9 => Value::Array(array(r)?),
            10 => Value::U64(u64_(r)?),
            11 => Value::I64(i64::from_le_bytes(bytes(r)?)),
            12 => Value::F64(f64::from_le_bytes(bytes(r)?)),
            t => return Err(format!("unknown value type {t}")),
        })
    }

    pub fn read_metadata(path: &Path) -> Res<Metadata> {
        let mut r = BufReader::new(File::open(path).map_err(|e| e.to_string())?);
        if &bytes::<4>(&mut r)? != b"GGUF" {
            return Err("not a GGUF file".into());
        }
        let version = u32_(&mut r)?;
        if !(2..=3).contains(&version) {
            return Err(format!("GGUF version {version}"));
        }
        let _n_tensors = u64_(&mut r)?;
        let n_kv = u64_(&mut r)?;
        let mut entries = Vec::new();
        for _ in 0..n_kv {
            let key = string(&mut r)?;
            let ty = u32_(&mut r)?;
            entries.push((key, value(&mut r, ty)?));
        }
        Ok(Metadata { entries })
    }
}
