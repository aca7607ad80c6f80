//! Unit tests of the reader on files built by [`super::test_writer`]: every chunking pattern,
//! and one test per kind of bad file.

use super::metadata::{ArrayValue, Value};
use super::test_writer::{build, Raw, T};
use super::{GgufFile, GgufReader};
use crate::error::{Error, Result};

/// Feeds `bytes` in chunks of the given sizes (cycled), declaring `file_len`; returns the file
/// and each tensor's concatenated data, checking that pieces arrive in order.
fn read_with(bytes: &[u8], file_len: u64, sizes: &[usize]) -> Result<(GgufFile, Vec<Vec<u8>>)> {
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
            assert_eq!(
                p.offset,
                data[p.tensor].len() as u64,
                "pieces arrive in order"
            );
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

fn read(bytes: &[u8]) -> Result<GgufFile> {
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
    vec![
        vec![len.max(1)],
        vec![1],
        vec![3, 0, 7],
        vec![31, 64, 5],
        random,
    ]
}

fn all_value_kinds() -> Vec<(&'static str, Value)> {
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
        (
            "toks",
            Value::Array(ArrayValue::String(vec![
                "<s>".into(),
                "".into(),
                "▁a".into(),
            ])),
        ),
        (
            "scores",
            Value::Array(ArrayValue::F32(vec![0.0, -1.25, 3.5])),
        ),
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

fn tensors() -> Vec<T> {
    let bytes = |n: usize, salt: u8| (0..n).map(|i| (i as u8).wrapping_mul(31) ^ salt).collect();
    vec![
        T {
            name: "a.weight",
            dims: vec![3, 2],
            type_id: 0,
            data: bytes(24, 1),
        },
        T {
            name: "b.q8",
            dims: vec![64, 3],
            type_id: 8,
            data: bytes(2 * 34 * 3, 2),
        },
        T {
            name: "c.q4k",
            dims: vec![256],
            type_id: 12,
            data: bytes(144, 3),
        },
        T {
            name: "d.f16",
            dims: vec![5, 1, 1, 2],
            type_id: 1,
            data: bytes(20, 4),
        },
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
                let expect: Vec<(String, Value)> = kvs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.clone()))
                    .collect();
                assert_eq!(file.metadata.entries, expect);
                for (i, t) in ts.iter().enumerate() {
                    let info = &file.tensors[i];
                    assert_eq!(
                        (info.name.as_str(), &info.dims, info.type_id),
                        (t.name, &t.dims, t.type_id)
                    );
                    assert_eq!(info.n_bytes, t.data.len() as u64);
                    let range = file.data_range(info);
                    assert_eq!(
                        &bytes[range.start as usize..range.end as usize],
                        &t.data[..]
                    );
                    assert_eq!(data[i], t.data, "tensor {} with chunks {sizes:?}", t.name);
                }
            }
        }
    }
}

#[test]
fn tensors_out_of_table_order_stream_in_file_order() {
    let mut w = Raw::default();
    w.preamble(3, 2, 0)
        .tensor_info("late", &[4], 0, 32)
        .tensor_info("early", &[8], 24, 0);
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

fn bad_file_at(bytes: &[u8], offset: u64, words: &str) {
    for sizes in [vec![bytes.len()], vec![1]] {
        match read_with(bytes, bytes.len() as u64, &sizes) {
            Err(Error::BadFile { offset: o, what }) => {
                assert_eq!(o, offset, "{what}");
                assert!(what.contains(words), "{what:?} should mention {words:?}");
            }
            other => panic!("expected BadFile about {words:?}, got {other:?}"),
        }
    }
}

#[test]
fn rejects_wrong_magic_and_versions() {
    let mut w = Raw::default();
    w.bytes(b"GGUG").u32(3).u64(0).u64(0);
    bad_file_at(&w.0, 0, "magic");
    // The magic is checked as soon as 4 bytes are in, even when the file claims to be longer.
    let e = GgufReader::new(1000)
        .push(b"ABCD", &mut |_| Ok(()))
        .unwrap_err();
    assert_eq!(e.code(), "bad_file");
    for v in [0, 1, 4, 1000] {
        let mut w = Raw::default();
        w.preamble(v, 0, 0);
        assert_eq!(
            read(&w.0).unwrap_err(),
            Error::UnsupportedVersion { version: v }
        );
    }
    let mut w = Raw::default();
    w.bytes(b"GGUF")
        .bytes(&3u32.to_be_bytes())
        .bytes(&0u64.to_be_bytes())
        .bytes(&0u64.to_be_bytes());
    bad_file_at(&w.0, 4, "big-endian");
}

#[test]
fn rejects_counts_the_file_cannot_hold() {
    let mut w = Raw::default();
    w.preamble(3, 0, u64::MAX / 2).bytes(&[0; 100]);
    bad_file_at(&w.0, 16, "key-value count");
    let mut w = Raw::default();
    w.preamble(3, 1 << 40, 0).bytes(&[0; 100]);
    bad_file_at(&w.0, 8, "tensor count");
}

#[test]
fn rejects_bad_strings_and_arrays() {
    // A key whose length is far past the end of the file.
    let mut w = Raw::default();
    w.preamble(3, 0, 1).u64(u64::MAX).bytes(&[b'k'; 20]);
    bad_file_at(&w.0, 24, "string length");
    // A string value longer than the rest of the file.
    let mut w = Raw::default();
    w.preamble(3, 0, 1)
        .str("k")
        .u32(8)
        .u64(1 << 40)
        .bytes(&[b'a'; 32]);
    bad_file_at(&w.0, 24 + 9 + 4, "string length");
    // An array with more elements than the file could hold (4-byte elements).
    let mut w = Raw::default();
    w.preamble(3, 0, 1)
        .str("k")
        .u32(9)
        .u32(6)
        .u64(1 << 61)
        .bytes(&[0; 64]);
    bad_file_at(&w.0, 24 + 9 + 8, "array length");
    // Unknown value type, at top level and as an array element type.
    let mut w = Raw::default();
    w.preamble(3, 0, 1).str("k").u32(13).u32(0);
    bad_file_at(&w.0, 24 + 9, "unknown value type 13");
    let mut w = Raw::default();
    w.preamble(3, 0, 1).str("k").u32(9).u32(99).u64(0);
    bad_file_at(&w.0, 24 + 9 + 4, "unknown value type 99");
    // Non-UTF-8 key, empty key, duplicate key.
    let mut w = Raw::default();
    w.preamble(3, 0, 1)
        .u64(2)
        .bytes(&[0xff, 0xfe])
        .u32(0)
        .bytes(&[0]);
    bad_file_at(&w.0, 32, "UTF-8");
    let mut w = Raw::default();
    w.preamble(3, 0, 1).str("").u32(0).bytes(&[0; 8]);
    bad_file_at(&w.0, 24, "empty key");
    let mut w = Raw::default();
    w.preamble(3, 0, 2)
        .kv("a.b", &Value::U8(1))
        .kv("a.b", &Value::U8(2));
    bad_file_at(&w.0, 24 + 8 + 3 + 4 + 1, "duplicate metadata key \"a.b\"");
}

#[test]
fn rejects_arrays_nested_too_deep() {
    let mut deep = ArrayValue::U8(vec![1]);
    for _ in 0..15 {
        deep = ArrayValue::Array(vec![deep]);
    }
    let mut w = Raw::default();
    w.preamble(3, 0, 1).kv("ok", &Value::Array(deep.clone()));
    assert!(read(&w.0).is_ok(), "16 levels are allowed");
    let mut w = Raw::default();
    w.preamble(3, 0, 1)
        .kv("deep", &Value::Array(ArrayValue::Array(vec![deep])));
    let e = read(&w.0).unwrap_err();
    assert!(e.to_string().contains("nested deeper than 16"), "{e}");
}

#[test]
fn rejects_bad_alignment() {
    for (v, words) in [
        (Value::U32(0), "power of two"),
        (Value::U32(48), "power of two"),
        (Value::String("32".into()), "power of two"),
        (Value::I32(-32), "power of two"),
    ] {
        let mut w = Raw::default();
        w.preamble(3, 0, 1).kv("general.alignment", &v).pad_to(64);
        bad_file_at(&w.0, 24 + 8 + 17 + 4, words);
    }
}

/// A file with one tensor info written by `info` and 64 bytes of data.
fn one_tensor(info: impl FnOnce(&mut Raw)) -> Vec<u8> {
    let mut w = Raw::default();
    w.preamble(3, 1, 0);
    info(&mut w);
    w.pad_to(32).bytes(&[0; 64]);
    w.0
}

#[test]
fn rejects_bad_tensor_infos() {
    for (dims, words) in [
        (&[][..], "0 dimensions"),
        (&[1, 1, 1, 1, 1][..], "5 dimensions"),
        (&[4, 0][..], "zero dimension"),
        (&[1 << 32, 1 << 32, 1 << 32][..], "overflows"),
    ] {
        let bytes = one_tensor(|w| {
            w.tensor_info("t", dims, 0, 0);
        });
        let at = if words.contains("dimensions") {
            24 + 9
        } else {
            24
        };
        let at = if words == "zero dimension" {
            24 + 9 + 4 + 8
        } else {
            at
        };
        bad_file_at(&bytes, at, words);
    }
    // Q8_0 rows must be a whole number of 32-element blocks.
    bad_file_at(
        &one_tensor(|w| {
            w.tensor_info("t", &[16], 8, 0);
        }),
        24,
        "multiple of",
    );
    // Misaligned, past the end.
    bad_file_at(
        &one_tensor(|w| {
            w.tensor_info("t", &[4], 0, 8);
        }),
        24 + 9 + 4 + 8 + 4,
        "alignment",
    );
    bad_file_at(
        &one_tensor(|w| {
            w.tensor_info("t", &[4], 0, 64);
        }),
        24,
        "past the end",
    );
    bad_file_at(
        &one_tensor(|w| {
            w.tensor_info("t", &[17], 0, 0);
        }),
        24,
        "past the end",
    );
    // Unknown / removed ggml types name the tensor.
    for type_id in [4, 31, 43, u32::MAX] {
        let bytes = one_tensor(|w| {
            w.tensor_info("blk.0.w", &[32], type_id, 0);
        });
        let e = read(&bytes).unwrap_err();
        assert!(
            matches!(&e, Error::UnsupportedType { tensor, type_id: t, .. } if tensor == "blk.0.w" && *t == type_id),
            "{e}"
        );
    }
}

#[test]
fn rejects_overlapping_and_duplicate_tensors() {
    let mut w = Raw::default();
    w.preamble(3, 2, 0)
        .tensor_info("a", &[16], 0, 0)
        .tensor_info("b", &[4], 0, 32);
    w.pad_to(32).bytes(&[0; 96]);
    bad_file_at(&w.0, 24 + 9 + 4 + 8 + 4 + 8, "overlaps tensor \"a\"");
    let mut w = Raw::default();
    w.preamble(3, 2, 0)
        .tensor_info("a", &[4], 0, 0)
        .tensor_info("a", &[4], 0, 32);
    w.pad_to(32).bytes(&[0; 64]);
    bad_file_at(&w.0, 24 + 33, "duplicate tensor name");
}

#[test]
fn truncation_at_every_byte_is_reported() {
    let bytes = build(3, &all_value_kinds(), &tensors(), 32);
    let file = read(&bytes).unwrap();
    let data_end = file
        .tensors
        .iter()
        .map(|t| file.data_range(t).end)
        .max()
        .unwrap();
    for cut in 0..bytes.len() {
        let head = &bytes[..cut];
        // The stream ends early (the declared length is the real one) ...
        match read_with(head, bytes.len() as u64, &[7]) {
            Err(Error::Truncated { offset, what, len }) => {
                assert!(
                    offset <= cut as u64 && len == cut as u64,
                    "cut {cut}: {offset} {len} {what}"
                );
                assert!(!what.is_empty());
            }
            other => panic!("cut at {cut}: expected Truncated, got {other:?}"),
        }
        // ... or the file itself is short (valid only if just trailing padding is cut).
        match read_with(head, cut as u64, &[1, 1000]) {
            Err(Error::Truncated { offset, .. } | Error::BadFile { offset, .. }) => {
                assert!(offset <= cut as u64, "cut {cut}: offset {offset}")
            }
            Ok(_) if cut as u64 >= data_end => {}
            other => panic!("short file cut at {cut}: got {other:?}"),
        }
    }
}

#[test]
fn truncation_names_the_field_or_tensor() {
    let bytes = build(3, &all_value_kinds(), &tensors(), 32);
    let file = read(&bytes).unwrap();
    let what = |cut: usize| match read_with(&bytes[..cut], bytes.len() as u64, &[1]) {
        Err(Error::Truncated { what, .. }) => what,
        other => panic!("{other:?}"),
    };
    assert!(what(2).contains("magic"));
    assert!(what(6).contains("version"));
    assert!(what(30).contains("key of metadata entry #0"));
    let q8 = file.data_range(&file.tensors[1]);
    assert_eq!(what(q8.start as usize + 3), "data of tensor \"b.q8\"");
    assert_eq!(what(bytes.len() - 1), "padding at the end of the file");
}

#[test]
fn too_many_bytes_and_callback_errors_stop_the_reader() {
    let bytes = build(3, &[], &tensors(), 32);
    let mut r = GgufReader::new(bytes.len() as u64 - 1);
    let e = r.push(&bytes, &mut |_| Ok(())).unwrap_err();
    assert_eq!(e.code(), "bad_file");
    assert_eq!(r.finish().unwrap_err(), e);

    let mut r = GgufReader::new(bytes.len() as u64);
    let e = r.push(&bytes, &mut |_| Err(Error::Aborted)).unwrap_err();
    assert_eq!(e, Error::Aborted);
    assert_eq!(r.push(&[], &mut |_| Ok(())), Err(Error::Aborted));
    assert_eq!(r.finish().unwrap_err(), Error::Aborted);
}
