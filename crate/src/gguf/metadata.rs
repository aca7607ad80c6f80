//! GGUF metadata values and typed lookups.
//!
//! Lookups that a model loader needs come in two flavours: `get_*` (the key must be present) and
//! `opt_*` (absent is fine). Both fail with [`Error::InvalidModel`] naming the key, the type found
//! and the type expected when the value has the wrong type.

use crate::error::{Error, Result};

/// One metadata value. Arrays keep their element type so a 262,144-entry vocabulary is one
/// `Vec<String>` and its scores one `Vec<f32>`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    F32(f32),
    Bool(bool),
    String(String),
    Array(ArrayValue),
    U64(u64),
    I64(i64),
    F64(f64),
}

/// A metadata array, typed by its element type; arrays may nest.
#[derive(Debug, Clone, PartialEq)]
pub enum ArrayValue {
    U8(Vec<u8>),
    I8(Vec<i8>),
    U16(Vec<u16>),
    I16(Vec<i16>),
    U32(Vec<u32>),
    I32(Vec<i32>),
    F32(Vec<f32>),
    Bool(Vec<bool>),
    String(Vec<String>),
    Array(Vec<ArrayValue>),
    U64(Vec<u64>),
    I64(Vec<i64>),
    F64(Vec<f64>),
}

impl Value {
    /// The GGUF name of this value's type (`"u32"`, `"string"`, `"array<f32>"`, ...), for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::U8(_) => "u8",
            Value::I8(_) => "i8",
            Value::U16(_) => "u16",
            Value::I16(_) => "i16",
            Value::U32(_) => "u32",
            Value::I32(_) => "i32",
            Value::F32(_) => "f32",
            Value::Bool(_) => "bool",
            Value::String(_) => "string",
            Value::Array(a) => a.type_name(),
            Value::U64(_) => "u64",
            Value::I64(_) => "i64",
            Value::F64(_) => "f64",
        }
    }

    /// The value as an integer, if it is one of the integer types (any width or sign).
    pub fn as_i128(&self) -> Option<i128> {
        Some(match *self {
            Value::U8(v) => v.into(),
            Value::I8(v) => v.into(),
            Value::U16(v) => v.into(),
            Value::I16(v) => v.into(),
            Value::U32(v) => v.into(),
            Value::I32(v) => v.into(),
            Value::U64(v) => v.into(),
            Value::I64(v) => v.into(),
            _ => return None,
        })
    }
}

impl ArrayValue {
    /// `"array<ELEMENT>"`, e.g. `"array<string>"`; nested arrays are `"array<array>"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            ArrayValue::U8(_) => "array<u8>",
            ArrayValue::I8(_) => "array<i8>",
            ArrayValue::U16(_) => "array<u16>",
            ArrayValue::I16(_) => "array<i16>",
            ArrayValue::U32(_) => "array<u32>",
            ArrayValue::I32(_) => "array<i32>",
            ArrayValue::F32(_) => "array<f32>",
            ArrayValue::Bool(_) => "array<bool>",
            ArrayValue::String(_) => "array<string>",
            ArrayValue::Array(_) => "array<array>",
            ArrayValue::U64(_) => "array<u64>",
            ArrayValue::I64(_) => "array<i64>",
            ArrayValue::F64(_) => "array<f64>",
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            ArrayValue::U8(v) => v.len(),
            ArrayValue::I8(v) => v.len(),
            ArrayValue::U16(v) => v.len(),
            ArrayValue::I16(v) => v.len(),
            ArrayValue::U32(v) => v.len(),
            ArrayValue::I32(v) => v.len(),
            ArrayValue::F32(v) => v.len(),
            ArrayValue::Bool(v) => v.len(),
            ArrayValue::String(v) => v.len(),
            ArrayValue::Array(v) => v.len(),
            ArrayValue::U64(v) => v.len(),
            ArrayValue::I64(v) => v.len(),
            ArrayValue::F64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The metadata of a file, in file order. Keys are unique (the reader rejects duplicates).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    pub entries: Vec<(String, Value)>,
}

fn wrong_type(key: &str, found: &Value, expected: &str) -> Error {
    Error::InvalidModel(format!("metadata key {key:?} has type {}, expected {expected}", found.type_name()))
}

impl Metadata {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn require(&self, key: &str) -> Result<&Value> {
        self.get(key).ok_or_else(|| Error::MissingMetadata(key.to_string()))
    }

    /// Looks `key` up and converts it with `f`, which returns `None` on a type mismatch.
    fn opt_with<'a, T>(
        &'a self,
        key: &str,
        expected: &str,
        f: impl FnOnce(&'a Value) -> Option<T>,
    ) -> Result<Option<T>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => f(v).map(Some).ok_or_else(|| wrong_type(key, v, expected)),
        }
    }

    fn get_with<'a, T>(
        &'a self,
        key: &str,
        expected: &str,
        f: impl FnOnce(&'a Value) -> Option<T>,
    ) -> Result<T> {
        let v = self.require(key)?;
        f(v).ok_or_else(|| wrong_type(key, v, expected))
    }

    /// An integer of any type whose value fits in `u32`.
    pub fn get_u32(&self, key: &str) -> Result<u32> {
        self.get_with(key, "an integer in u32 range", |v| v.as_i128().and_then(|i| u32::try_from(i).ok()))
    }

    /// An integer of any type whose value fits in `u64`.
    pub fn get_u64(&self, key: &str) -> Result<u64> {
        self.get_with(key, "an integer in u64 range", |v| v.as_i128().and_then(|i| u64::try_from(i).ok()))
    }

    /// An `f32`, or an `f64` rounded to `f32`.
    pub fn get_f32(&self, key: &str) -> Result<f32> {
        self.get_with(key, "f32", as_f32)
    }

    pub fn get_bool(&self, key: &str) -> Result<bool> {
        self.get_with(key, "bool", as_bool)
    }

    pub fn get_str(&self, key: &str) -> Result<&str> {
        self.get_with(key, "string", as_str)
    }

    pub fn get_str_array(&self, key: &str) -> Result<&[String]> {
        self.get_with(key, "array<string>", |v| match v {
            Value::Array(ArrayValue::String(a)) => Some(a.as_slice()),
            _ => None,
        })
    }

    pub fn get_f32_array(&self, key: &str) -> Result<&[f32]> {
        self.get_with(key, "array<f32>", |v| match v {
            Value::Array(ArrayValue::F32(a)) => Some(a.as_slice()),
            _ => None,
        })
    }

    /// An `array<i32>` (GGUF token types are stored as i32).
    pub fn get_i32_array(&self, key: &str) -> Result<&[i32]> {
        self.get_with(key, "array<i32>", |v| match v {
            Value::Array(ArrayValue::I32(a)) => Some(a.as_slice()),
            _ => None,
        })
    }

    pub fn opt_u32(&self, key: &str) -> Result<Option<u32>> {
        self.opt_with(key, "an integer in u32 range", |v| v.as_i128().and_then(|i| u32::try_from(i).ok()))
    }

    pub fn opt_f32(&self, key: &str) -> Result<Option<f32>> {
        self.opt_with(key, "f32", as_f32)
    }

    pub fn opt_bool(&self, key: &str) -> Result<Option<bool>> {
        self.opt_with(key, "bool", as_bool)
    }

    pub fn opt_str(&self, key: &str) -> Result<Option<&str>> {
        self.opt_with(key, "string", as_str)
    }
}

fn as_f32(v: &Value) -> Option<f32> {
    match *v {
        Value::F32(x) => Some(x),
        Value::F64(x) => Some(x as f32),
        _ => None,
    }
}

fn as_bool(v: &Value) -> Option<bool> {
    match *v {
        Value::Bool(b) => Some(b),
        _ => None,
    }
}

fn as_str(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s.as_str()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md() -> Metadata {
        Metadata {
            entries: vec![
                ("u8".into(), Value::U8(7)),
                ("neg".into(), Value::I32(-1)),
                ("big".into(), Value::U64(1 << 40)),
                ("f64".into(), Value::F64(0.5)),
                ("b".into(), Value::Bool(true)),
                ("s".into(), Value::String("gemma3".into())),
                ("toks".into(), Value::Array(ArrayValue::String(vec!["a".into()]))),
                ("types".into(), Value::Array(ArrayValue::I32(vec![1, 2]))),
                ("scores".into(), Value::Array(ArrayValue::F32(vec![0.25]))),
            ],
        }
    }

    #[test]
    fn typed_getters() {
        let m = md();
        assert_eq!(m.get_u32("u8").unwrap(), 7);
        assert_eq!(m.get_u64("big").unwrap(), 1 << 40);
        assert_eq!(m.get_f32("f64").unwrap(), 0.5);
        assert!(m.get_bool("b").unwrap());
        assert_eq!(m.get_str("s").unwrap(), "gemma3");
        assert_eq!(m.get_str_array("toks").unwrap(), ["a".to_string()]);
        assert_eq!(m.get_i32_array("types").unwrap(), [1, 2]);
        assert_eq!(m.get_f32_array("scores").unwrap(), [0.25]);
        assert_eq!(m.opt_u32("absent").unwrap(), None);
        assert_eq!(m.opt_str("s").unwrap(), Some("gemma3"));
        assert_eq!(m.opt_bool("b").unwrap(), Some(true));
        assert_eq!(m.opt_f32("f64").unwrap(), Some(0.5));
    }

    #[test]
    fn getter_errors_name_key_and_types() {
        let m = md();
        assert_eq!(m.get_u32("absent"), Err(Error::MissingMetadata("absent".into())));
        for e in [
            m.get_u32("neg").unwrap_err(),
            m.get_u32("big").unwrap_err(),
            m.get_str("b").unwrap_err(),
            m.opt_f32("s").unwrap_err(),
            m.get_f32_array("types").unwrap_err(),
        ] {
            assert_eq!(e.code(), "invalid_model", "{e}");
        }
        let msg = m.get_str_array("scores").unwrap_err().to_string();
        assert!(
            msg.contains("\"scores\"") && msg.contains("array<f32>") && msg.contains("array<string>"),
            "{msg}"
        );
    }
}
