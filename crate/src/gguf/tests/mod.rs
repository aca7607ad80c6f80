//! Unit tests of the reader on files built by [`super::test_writer`]: every chunking pattern
//! here, one test per kind of bad file in [`bad_files`].

mod bad_files;

use super::metadata::{ArrayValue, Value};
use super::test_writer::{build, Raw, T};
use super::{GgufFile, GgufReader};
use crate::error::{Error, Result};

/// Feeds `bytes` in chunks of the given sizes (cycled), declaring `file_len`; returns the file
/// and each tensor's concatenated data, checking that pieces arrive in order.
pub(super) fn read_with(bytes: &[u8], file_len: u64, sizes: &[usize]) -> Result<(GgufFile, Vec<Vec<u8>>)> {
    let mut r = GgufReader::new(file_len);
    let mut data: Vec<Vec<u8>> = Vec::new();
    let mut rest = bytes;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].min(rest.len());
        i += 1;
        let done = r.push(&rest[..n], &mut |p| {
            if data.len() <= p.tensor {
                data.resize(p.tensor + 1, Vec::new());
            }
            assert_eq!(p.offset, data[p.tensor].len() as u64, "pieces arrive in order");
            data[p.tensor].extend_from_slice(p.bytes);
            Ok(())
        })?;
        assert_eq!(done, r.file().is_some());
        rest = &rest[n..];
        assert_eq!(r.position(), (bytes.len() - rest.len()) as u64);
    }
    let file = r.finish()?;
    data.resize(file.tensors.len(), Vec::new());
    Ok((file, data))
}

pub(super) fn read(bytes: &[u8]) -> Result<GgufFile> {
    read_with(bytes, bytes.len() as u64, &[bytes.len().max(1)]).map(|(f, _)| f)
}

/// Chunk-size patterns: whole, 1 byte, small primes, pseudo-random sizes.
fn patterns(len: usize) -> Vec<Vec<usize>> {
    let mut seed = 0x9e3779b97f4a7c15u64;
    let random = (0..64)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % 97) as usize
        })
        .collect();
    vec![vec![len.max(1)], vec![1], vec![3, 0, 7], vec![31, 64, 5], random]
}

pub(super) fn all_value_kinds() -> Vec<(&'static str, Value)> {
    vec![
        ("general.architecture", Value::String("test".into())),
        ("u8", Value::U8(200)),
        ("i8", Value::I8(-100)),
        ("u16", Value::U16(60000)),
        ("i16", Value::I16(-30000)),
        ("u32", Value::U32(4_000_000_000)),
        ("i32", Value::I32(-2_000_000_000)),
        ("f32", Value::F32(1.5e-6)),
        ("bool", Value::Bool(true)),
        ("utf8", Value::String("héllo ▁wörld 🙂".into())),
        ("u64", Value::U64(u64::MAX - 1)),
        ("i64", Value::I64(i64::MIN + 1)),
        ("f64", Value::F64(-2.5e300)),
        ("toks", Value::Array(ArrayValue::String(vec!["<s>".into(), "".into(), "▁a".into()]))),
        ("scores", Value::Array(ArrayValue::F32(vec![0.0, -1.25, 3.5]))),
        ("types", Value::Array(ArrayValue::I32(vec![1, 2, 3, 6]))),
        ("bools", Value::Array(ArrayValue::Bool(vec![true, false]))),
        ("bytes", Value::Array(ArrayValue::U8(vec![]))),
        ("u64s", Value::Array(ArrayValue::U64(vec![1, 1 << 63]))),
        ("i16s", Value::Array(ArrayValue::I16(vec![-1, 2]))),
        (
            "nested",
            Value::Array(ArrayValue::Array(vec![
                ArrayValue::I64(vec![-5, 6]),
                ArrayValue::String(vec!["x".into()]),
                ArrayValue::Array(vec![ArrayValue::F64(vec![0.5])]),
            ])),
        ),
    ]
}

pub(super) fn tensors() -> Vec<T> {
    let bytes = |n: usize, salt: u8| (0..n).map(|i| (i as u8).wrapping_mul(31) ^ salt).collect();
    vec![
        T { name: "a.weight", dims: vec![3, 2], type_id: 0, data: bytes(24, 1) },
        T { name: "b.q8", dims: vec![64, 3], type_id: 8, data: bytes(2 * 34 * 3, 2) },
        T { name: "c.q4k", dims: vec![256], type_id: 12, data: bytes(144, 3) },
        T { name: "d.f16", dims: vec![5, 1, 1, 2], type_id: 1, data: bytes(20, 4) },
    ]
}

#[test]
fn every_chunking_gives_the_same_file_and_data() {
    for version in [2, 3] {
        for alignment in [32usize, 64] {
            let mut kvs = all_value_kinds();
            if alignment != 32 {
                kvs.push(("general.alignment", Value::U32(alignment as u32)));
            }
            let ts = tensors();
            let bytes = build(version, &kvs, &ts, alignment);
            for sizes in patterns(bytes.len()) {
                let (file, data) = read_with(&bytes, bytes.len() as u64, &sizes).unwrap();
                assert_eq!(file.version, version);
                assert_eq!(file.alignment, alignment as u64);
                assert_eq!(file.file_len, bytes.len() as u64);
                assert_eq!(file.data_offset % alignment as u64, 0);
                let expect: Vec<(String, Value)> =
                    kvs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
                assert_eq!(file.metadata.entries, expect);
                for (i, t) in ts.iter().enumerate() {
                    let info = &file.tensors[i];
                    assert_eq!((info.name.as_str(), &info.dims, info.type_id), (t.name, &t.dims, t.type_id));
                    assert_eq!(info.n_bytes, t.data.len() as u64);
                    let range = file.data_range(info);
                    assert_eq!(&bytes[range.start as usize..range.end as usize], &t.data[..]);
                    assert_eq!(data[i], t.data, "tensor {} with chunks {sizes:?}", t.name);
                }
            }
        }
    }
}

#[test]
fn tensors_out_of_table_order_stream_in_file_order() {
    let mut w = Raw::default();
    w.preamble(3, 2, 0).tensor_info("late", &[4], 0, 32).tensor_info("early", &[8], 24, 0);
    w.pad_to(32).bytes(&[7; 8]).pad_to(32).bytes(&[9; 16]);
    let (file, data) = read_with(&w.0, w.0.len() as u64, &[5]).unwrap();
    assert_eq!(file.tensors[0].name, "late");
    assert_eq!(data, vec![vec![9; 16], vec![7; 8]]);
}

#[test]
fn header_only_and_empty_files() {
    let mut w = Raw::default();
    w.preamble(3, 0, 0);
    let file = read(&w.0).unwrap();
    assert!(file.tensors.is_empty() && file.metadata.entries.is_empty());
    let e = read_with(&[], 0, &[1]).unwrap_err();
    assert!(matches!(e, Error::Truncated { offset: 0, .. }), "{e}");
}
