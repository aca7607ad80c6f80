//! A minimal GGUF writer for unit tests: builds valid files and lets tests emit raw fields to
//! build broken ones. (The integration tests use files written by the Python `gguf` package
//! as the independent reference.)

use super::metadata::{ArrayValue, Value};

/// Raw little-endian field writer.
#[derive(Default)]
pub struct Raw(pub Vec<u8>);

impl Raw {
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
    pub fn str(&mut self, s: &str) -> &mut Self {
        self.u64(s.len() as u64).bytes(s.as_bytes())
    }
    /// Magic, version and counts.
    pub fn preamble(&mut self, version: u32, n_tensors: u64, n_kv: u64) -> &mut Self {
        self.bytes(b"GGUF").u32(version).u64(n_tensors).u64(n_kv)
    }
    pub fn pad_to(&mut self, alignment: usize) -> &mut Self {
        while !self.0.len().is_multiple_of(alignment) {
            self.0.push(0);
        }
        self
    }
    /// A tensor info.
    pub fn tensor_info(&mut self, name: &str, dims: &[u64], type_id: u32, offset: u64) -> &mut Self {
        self.str(name).u32(dims.len() as u32);
        for &d in dims {
            self.u64(d);
        }
        self.u32(type_id).u64(offset)
    }
    /// A key-value.
    pub fn kv(&mut self, key: &str, v: &Value) -> &mut Self {
        self.str(key).u32(value_type(v));
        self.value(v)
    }
    fn value(&mut self, v: &Value) -> &mut Self {
        match v {
            Value::U8(x) => self.bytes(&[*x]),
            Value::I8(x) => self.bytes(&x.to_le_bytes()),
            Value::U16(x) => self.bytes(&x.to_le_bytes()),
            Value::I16(x) => self.bytes(&x.to_le_bytes()),
            Value::U32(x) => self.u32(*x),
            Value::I32(x) => self.bytes(&x.to_le_bytes()),
            Value::F32(x) => self.bytes(&x.to_le_bytes()),
            Value::Bool(x) => self.bytes(&[*x as u8]),
            Value::String(s) => self.str(s),
            Value::Array(a) => self.array(a),
            Value::U64(x) => self.u64(*x),
            Value::I64(x) => self.bytes(&x.to_le_bytes()),
            Value::F64(x) => self.bytes(&x.to_le_bytes()),
        }
    }
    fn array(&mut self, a: &ArrayValue) -> &mut Self {
        macro_rules! each {
            ($ty:expr, $v:expr, $f:expr) => {{
                self.u32($ty).u64($v.len() as u64);
                for x in $v {
                    self.value(&$f(x.clone()));
                }
                self
            }};
        }
        match a {
            ArrayValue::U8(v) => each!(0, v, Value::U8),
            ArrayValue::I8(v) => each!(1, v, Value::I8),
            ArrayValue::U16(v) => each!(2, v, Value::U16),
            ArrayValue::I16(v) => each!(3, v, Value::I16),
            ArrayValue::U32(v) => each!(4, v, Value::U32),
            ArrayValue::I32(v) => each!(5, v, Value::I32),
            ArrayValue::F32(v) => each!(6, v, Value::F32),
            ArrayValue::Bool(v) => each!(7, v, Value::Bool),
            ArrayValue::String(v) => each!(8, v, Value::String),
            ArrayValue::Array(v) => each!(9, v, Value::Array),
            ArrayValue::U64(v) => each!(10, v, Value::U64),
            ArrayValue::I64(v) => each!(11, v, Value::I64),
            ArrayValue::F64(v) => each!(12, v, Value::F64),
        }
    }
}

fn value_type(v: &Value) -> u32 {
    match v {
        Value::U8(_) => 0,
        Value::I8(_) => 1,
        Value::U16(_) => 2,
        Value::I16(_) => 3,
        Value::U32(_) => 4,
        Value::I32(_) => 5,
        Value::F32(_) => 6,
        Value::Bool(_) => 7,
        Value::String(_) => 8,
        Value::Array(_) => 9,
        Value::U64(_) => 10,
        Value::I64(_) => 11,
        Value::F64(_) => 12,
    }
}

/// One tensor to write: name, dims (ggml order), ggml type id, raw data.
pub struct T {
    pub name: &'static str,
    pub dims: Vec<u64>,
    pub type_id: u32,
    pub data: Vec<u8>,
}

/// A valid file: tensors laid out in order, each padded to `alignment` (as gguf-py does).
pub fn build(version: u32, kvs: &[(&str, Value)], tensors: &[T], alignment: usize) -> Vec<u8> {
    let mut w = Raw::default();
    w.preamble(version, tensors.len() as u64, kvs.len() as u64);
    for (k, v) in kvs {
        w.kv(k, v);
    }
    let mut offset = 0u64;
    for t in tensors {
        w.tensor_info(t.name, &t.dims, t.type_id, offset);
        offset += (t.data.len() as u64).next_multiple_of(alignment as u64);
    }
    w.pad_to(alignment);
    for t in tensors {
        w.bytes(&t.data).pad_to(alignment);
    }
    w.0
}
