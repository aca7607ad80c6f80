//! Bad files: each must give a typed error at the right byte offset, never a panic.

use super::super::metadata::{ArrayValue, Value};
use super::super::test_writer::{build, Raw};
use super::super::GgufReader;
use super::{all_value_kinds, read, read_with, tensors};
use crate::error::Error;

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
    let e = GgufReader::new(1000).push(b"ABCD", &mut |_| Ok(())).unwrap_err();
    assert_eq!(e.code(), "bad_file");
    for v in [0, 1, 4, 1000] {
        let mut w = Raw::default();
        w.preamble(v, 0, 0);
        assert_eq!(read(&w.0).unwrap_err(), Error::UnsupportedVersion { version: v });
    }
    let mut w = Raw::default();
    w.bytes(b"GGUF").bytes(&3u32.to_be_bytes()).bytes(&0u64.to_be_bytes()).bytes(&0u64.to_be_bytes());
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
    w.preamble(3, 0, 1).str("k").u32(8).u64(1 << 40).bytes(&[b'a'; 32]);
    bad_file_at(&w.0, 24 + 9 + 4, "string length");
    // An array with more elements than the file could hold (4-byte elements).
    let mut w = Raw::default();
    w.preamble(3, 0, 1).str("k").u32(9).u32(6).u64(1 << 61).bytes(&[0; 64]);
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
    w.preamble(3, 0, 1).u64(2).bytes(&[0xff, 0xfe]).u32(0).bytes(&[0]);
    bad_file_at(&w.0, 32, "UTF-8");
    let mut w = Raw::default();
    w.preamble(3, 0, 1).str("").u32(0).bytes(&[0; 8]);
    bad_file_at(&w.0, 24, "empty key");
    let mut w = Raw::default();
    w.preamble(3, 0, 2).kv("a.b", &Value::U8(1)).kv("a.b", &Value::U8(2));
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
    w.preamble(3, 0, 1).kv("deep", &Value::Array(ArrayValue::Array(vec![deep])));
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
        let at = if words.contains("dimensions") { 24 + 9 } else { 24 };
        let at = if words == "zero dimension" { 24 + 9 + 4 + 8 } else { at };
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
    w.preamble(3, 2, 0).tensor_info("a", &[16], 0, 0).tensor_info("b", &[4], 0, 32);
    w.pad_to(32).bytes(&[0; 96]);
    bad_file_at(&w.0, 24 + 9 + 4 + 8 + 4 + 8, "overlaps tensor \"a\"");
    let mut w = Raw::default();
    w.preamble(3, 2, 0).tensor_info("a", &[4], 0, 0).tensor_info("a", &[4], 0, 32);
    w.pad_to(32).bytes(&[0; 64]);
    bad_file_at(&w.0, 24 + 33, "duplicate tensor name");
}

#[test]
fn truncation_at_every_byte_is_reported() {
    let bytes = build(3, &all_value_kinds(), &tensors(), 32);
    let file = read(&bytes).unwrap();
    let data_end = file.tensors.iter().map(|t| file.data_range(t).end).max().unwrap();
    for cut in 0..bytes.len() {
        let head = &bytes[..cut];
        // The stream ends early (the declared length is the real one) ...
        match read_with(head, bytes.len() as u64, &[7]) {
            Err(Error::Truncated { offset, what, len }) => {
                assert!(offset <= cut as u64 && len == cut as u64, "cut {cut}: {offset} {len} {what}");
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
