//! TEMPORARY — delete this file (and its `mod`/`use` lines in `tokenizer/mod.rs` and
//! `tokenizer/gguf_load.rs`) once the GGUF reader branch is merged.
//!
//! The tokenizer reads metadata only through `Metadata`'s typed getters (`get_str`,
//! `get_str_array`, `get_f32_array`, `get_i32_array`, `opt_u32`, `opt_bool`, `opt_str`), which the
//! GGUF reader branch adds as inherent methods. Until then this trait provides them on top of
//! `Metadata::get`. Inherent methods take precedence over trait methods, so after the merge the
//! calls resolve to the real getters even before this file is removed (the `use` then warns as
//! unused).

use crate::error::{Error, Result};
use crate::gguf::{ArrayValue, Metadata, Value};

pub(crate) trait MetadataGetters {
    fn get_str(&self, key: &str) -> Result<&str>;
    fn get_str_array(&self, key: &str) -> Result<&[String]>;
    fn get_f32_array(&self, key: &str) -> Result<&[f32]>;
    fn get_i32_array(&self, key: &str) -> Result<&[i32]>;
    fn opt_u32(&self, key: &str) -> Result<Option<u32>>;
    fn opt_bool(&self, key: &str) -> Result<Option<bool>>;
    fn opt_str(&self, key: &str) -> Result<Option<&str>>;
}

fn missing(key: &str) -> Error {
    Error::MissingMetadata(key.to_string())
}

fn wrong(key: &str, expected: &str) -> Error {
    Error::InvalidModel(format!("metadata key {key:?} is not {expected}"))
}

impl MetadataGetters for Metadata {
    fn get_str(&self, key: &str) -> Result<&str> {
        self.opt_str(key)?.ok_or_else(|| missing(key))
    }
    fn get_str_array(&self, key: &str) -> Result<&[String]> {
        match self.get(key) {
            None => Err(missing(key)),
            Some(Value::Array(ArrayValue::String(a))) => Ok(a),
            Some(_) => Err(wrong(key, "array<string>")),
        }
    }
    fn get_f32_array(&self, key: &str) -> Result<&[f32]> {
        match self.get(key) {
            None => Err(missing(key)),
            Some(Value::Array(ArrayValue::F32(a))) => Ok(a),
            Some(_) => Err(wrong(key, "array<f32>")),
        }
    }
    fn get_i32_array(&self, key: &str) -> Result<&[i32]> {
        match self.get(key) {
            None => Err(missing(key)),
            Some(Value::Array(ArrayValue::I32(a))) => Ok(a),
            Some(_) => Err(wrong(key, "array<i32>")),
        }
    }
    fn opt_u32(&self, key: &str) -> Result<Option<u32>> {
        let v: Option<i128> = match self.get(key) {
            None => return Ok(None),
            Some(Value::U8(x)) => Some((*x).into()),
            Some(Value::I8(x)) => Some((*x).into()),
            Some(Value::U16(x)) => Some((*x).into()),
            Some(Value::I16(x)) => Some((*x).into()),
            Some(Value::U32(x)) => Some((*x).into()),
            Some(Value::I32(x)) => Some((*x).into()),
            Some(Value::U64(x)) => Some((*x).into()),
            Some(Value::I64(x)) => Some((*x).into()),
            Some(_) => None,
        };
        v.and_then(|i| u32::try_from(i).ok())
            .map(Some)
            .ok_or_else(|| wrong(key, "an integer in u32 range"))
    }
    fn opt_bool(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(wrong(key, "bool")),
        }
    }
    fn opt_str(&self, key: &str) -> Result<Option<&str>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(wrong(key, "string")),
        }
    }
}
