//! Parsing metadata values: scalars, strings and (nested) arrays.
//!
//! Encoding (GGUF v2/v3, little-endian): a value is its bytes as laid out by its type id
//! (0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool, 8 string, 9 array, 10 u64, 11 i64,
//! 12 f64); a string is a u64 length and UTF-8 bytes; an array is a u32 element type, a u64 count
//! and the elements back to back.
//!
//! Arrays can be huge (a 262,144-string vocabulary), so [`fill_array`] is resumable: it parses
//! the elements the buffer holds and keeps them, and the next call goes on from there.

use super::cursor::{check_count, Cursor, Step};
use super::metadata::{ArrayValue, Value};
use crate::error::Error;

pub(super) const TYPE_STRING: u32 = 8;
pub(super) const TYPE_ARRAY: u32 = 9;

/// Deepest nesting of arrays accepted (an array of arrays is depth 2).
pub(super) const MAX_ARRAY_DEPTH: u32 = 16;

/// Fewest bytes one value of type `ty` takes in the file, or `None` for an unknown type.
pub(super) fn min_size(ty: u32) -> Option<u64> {
    match ty {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        TYPE_STRING | 10..=12 => Some(8),
        TYPE_ARRAY => Some(12), // element type + count
        _ => None,
    }
}

/// Reads a value type id and checks that it is known. `what` names the value.
pub(super) fn read_type(c: &mut Cursor, what: &str) -> Step<u32> {
    let at = c.offset();
    let ty = c.u32(what)?;
    if min_size(ty).is_none() {
        return Err(Error::bad_file(at, format!("{what} has unknown value type {ty}")).into());
    }
    Ok(ty)
}

/// Reads one non-array value of the (known) type `ty`.
pub(super) fn read_scalar(c: &mut Cursor, ty: u32, what: &str) -> Step<Value> {
    Ok(match ty {
        0 => Value::U8(c.u8(what)?),
        1 => Value::I8(c.u8(what)? as i8),
        2 => Value::U16(u16::from_le_bytes(le(c.bytes(2, what)?))),
        3 => Value::I16(i16::from_le_bytes(le(c.bytes(2, what)?))),
        4 => Value::U32(c.u32(what)?),
        5 => Value::I32(c.u32(what)? as i32),
        6 => Value::F32(f32::from_bits(c.u32(what)?)),
        // ggml reads any non-zero byte as true.
        7 => Value::Bool(c.u8(what)? != 0),
        TYPE_STRING => Value::String(c.string(what)?),
        10 => Value::U64(c.u64(what)?),
        11 => Value::I64(c.u64(what)? as i64),
        12 => Value::F64(f64::from_bits(c.u64(what)?)),
        _ => return Err(Error::bad_file(c.offset(), format!("{what}: unexpected type {ty}")).into()),
    })
}

/// Reads an array's element type and count (`depth` is this array's nesting level, 1 for a
/// top-level value) and returns the empty array to [`fill_array`] with its element count.
pub(super) fn read_array_head(c: &mut Cursor, depth: u32, what: &str) -> Step<(ArrayValue, u64)> {
    let at = c.offset();
    if depth > MAX_ARRAY_DEPTH {
        let msg = format!("{what}: arrays nested deeper than {MAX_ARRAY_DEPTH} levels");
        return Err(Error::bad_file(at, msg).into());
    }
    let ty = read_type(c, &format!("element type of {what}"))?;
    let count_at = c.offset();
    let count = c.u64(what)?;
    let min = min_size(ty).unwrap_or(1);
    check_count(count, min, c.left_in_file(), count_at, &format!("array length of {what}"))?;
    // Reserve only for what the buffer already holds: the Vec grows as elements arrive, so a
    // lying count costs nothing up front.
    let cap = count.min(c.available() as u64 / min + 1) as usize;
    let array = match ty {
        0 => ArrayValue::U8(Vec::with_capacity(cap)),
        1 => ArrayValue::I8(Vec::with_capacity(cap)),
        2 => ArrayValue::U16(Vec::with_capacity(cap)),
        3 => ArrayValue::I16(Vec::with_capacity(cap)),
        4 => ArrayValue::U32(Vec::with_capacity(cap)),
        5 => ArrayValue::I32(Vec::with_capacity(cap)),
        6 => ArrayValue::F32(Vec::with_capacity(cap)),
        7 => ArrayValue::Bool(Vec::with_capacity(cap)),
        TYPE_STRING => ArrayValue::String(Vec::with_capacity(cap)),
        TYPE_ARRAY => ArrayValue::Array(Vec::with_capacity(cap)),
        10 => ArrayValue::U64(Vec::with_capacity(cap)),
        11 => ArrayValue::I64(Vec::with_capacity(cap)),
        _ => ArrayValue::F64(Vec::with_capacity(cap)),
    };
    Ok((array, count))
}

/// Reads a whole array (head and elements) in one go; used for arrays nested in arrays.
fn read_array(c: &mut Cursor, depth: u32, what: &str) -> Step<ArrayValue> {
    let (mut array, mut remaining) = read_array_head(c, depth, what)?;
    fill_array(c, &mut array, &mut remaining, depth, what)?;
    Ok(array)
}

/// Appends up to `remaining` elements to `array`, as many as the buffer holds. Returns `Ok` when
/// `remaining` reaches 0, else `Stop::More` with the cursor just after the last whole element
/// (which `array` holds), so the caller can keep the progress and call again later.
pub(super) fn fill_array(
    c: &mut Cursor,
    array: &mut ArrayValue,
    remaining: &mut u64,
    depth: u32,
    what: &str,
) -> Step<()> {
    // Fixed-size elements: decode every whole element buffered in one pass.
    macro_rules! bulk {
        ($v:expr, $n:literal, $decode:expr) => {{
            let n = (*remaining).min((c.available() / $n) as u64);
            let bytes = c.bytes(n * $n, what)?;
            $v.extend(bytes.chunks_exact($n).map(|b| $decode(le::<$n>(b))));
            *remaining -= n;
            if *remaining > 0 {
                // Fewer than one element is buffered: this stops with More (or Truncated).
                c.bytes($n, what)?;
            }
        }};
    }
    match array {
        ArrayValue::U8(v) => bulk!(v, 1, |b: [u8; 1]| b[0]),
        ArrayValue::I8(v) => bulk!(v, 1, |b: [u8; 1]| b[0] as i8),
        ArrayValue::Bool(v) => bulk!(v, 1, |b: [u8; 1]| b[0] != 0),
        ArrayValue::U16(v) => bulk!(v, 2, u16::from_le_bytes),
        ArrayValue::I16(v) => bulk!(v, 2, i16::from_le_bytes),
        ArrayValue::U32(v) => bulk!(v, 4, u32::from_le_bytes),
        ArrayValue::I32(v) => bulk!(v, 4, i32::from_le_bytes),
        ArrayValue::F32(v) => bulk!(v, 4, f32::from_le_bytes),
        ArrayValue::U64(v) => bulk!(v, 8, u64::from_le_bytes),
        ArrayValue::I64(v) => bulk!(v, 8, i64::from_le_bytes),
        ArrayValue::F64(v) => bulk!(v, 8, f64::from_le_bytes),
        ArrayValue::String(v) => {
            while *remaining > 0 {
                let start = c.consumed();
                let s = c.string(what).inspect_err(|_| c.rewind(start))?;
                v.push(s);
                *remaining -= 1;
            }
        }
        ArrayValue::Array(v) => {
            while *remaining > 0 {
                let start = c.consumed();
                let a = read_array(c, depth + 1, what).inspect_err(|_| c.rewind(start))?;
                v.push(a);
                *remaining -= 1;
            }
        }
    }
    Ok(())
}

/// The first `N` bytes of `b` as an array (`b` is at least `N` long by construction).
fn le<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&b[..N]);
    out
}
