//! The header state machine: preamble, metadata key-values, tensor infos, then validation of
//! the tensor table against the file length.
//!
//! Layout (GGUF v2/v3, little-endian): magic `"GGUF"`, u32 version, u64 tensor count, u64
//! key-value count; each key-value is a string key, a u32 value type and the value (see
//! [`super::values`]); each tensor info is a string name, u32 n_dims, n_dims × u64 dims (ggml
//! order, `dims[0]` contiguous), u32 ggml type, u64 offset relative to the data section. The
//! data section starts at the end of the tensor infos rounded up to `general.alignment`.

use std::collections::HashSet;

use super::cursor::{check_count, Cursor, Step, Stop};
use super::ggml_types::tensor_bytes;
use super::metadata::{ArrayValue, Metadata, Value};
use super::values::{fill_array, read_array_head, read_scalar, read_type, TYPE_ARRAY};
use super::{GgufFile, TensorInfo};
use crate::error::{Error, Result};

/// Fewest bytes a key-value takes: key length (8) + a 1-byte key + type (4) + a 1-byte value.
const MIN_KV_BYTES: u64 = 14;
/// Fewest bytes a tensor info takes: name length (8) + n_dims (4) + one dim (8) + type (4) +
/// offset (8).
const MIN_TENSOR_INFO_BYTES: u64 = 32;
/// ggml's most dimensions.
const MAX_DIMS: u32 = 4;
const DEFAULT_ALIGNMENT: u64 = 32;
const ALIGNMENT_KEY: &str = "general.alignment";

enum Phase {
    Preamble,
    /// Reading key-values (`metadata.entries.len()` of `n_kv` done).
    Kv,
    /// Filling the elements of a top-level array value.
    KvArray {
        key: String,
        array: ArrayValue,
        remaining: u64,
        at: u64,
    },
    /// Reading tensor infos (`tensors.len()` of `n_tensors` done).
    Tensors,
    Done,
}

pub(super) struct HeaderParser {
    phase: Phase,
    version: u32,
    n_tensors: u64,
    n_kv: u64,
    metadata: Metadata,
    keys: HashSet<String>,
    alignment: u64,
    tensors: Vec<TensorInfo>,
    names: HashSet<String>,
}

impl HeaderParser {
    pub fn new() -> Self {
        HeaderParser {
            phase: Phase::Preamble,
            version: 0,
            n_tensors: 0,
            n_kv: 0,
            metadata: Metadata::default(),
            keys: HashSet::new(),
            alignment: DEFAULT_ALIGNMENT,
            tensors: Vec::new(),
            names: HashSet::new(),
        }
    }

    /// Parses as much as `c` holds. Returns the file once the header is complete (the cursor
    /// then stands at the end of the tensor infos), `Stop::More` when it needs more bytes.
    pub fn parse(&mut self, c: &mut Cursor) -> Step<GgufFile> {
        loop {
            let start = c.consumed();
            let step = match &mut self.phase {
                Phase::Preamble => self.preamble(c),
                Phase::Kv if self.metadata.entries.len() as u64 == self.n_kv => {
                    self.phase = Phase::Tensors;
                    Ok(())
                }
                Phase::Kv => self.kv(c),
                Phase::KvArray { key, array, remaining, .. } => {
                    // Keeps partial progress on `More`: no rewind.
                    let what = format!("element of metadata array {key:?}");
                    fill_array(c, array, remaining, 1, &what)?;
                    if let Phase::KvArray { key, array, at, .. } =
                        std::mem::replace(&mut self.phase, Phase::Kv)
                    {
                        self.commit_kv(key, Value::Array(array), at)?;
                    }
                    Ok(())
                }
                Phase::Tensors if self.tensors.len() as u64 == self.n_tensors => {
                    self.phase = Phase::Done;
                    return Ok(self.finish(c.offset(), c.file_len())?);
                }
                Phase::Tensors => self.tensor_info(c),
                Phase::Done => return Err(Error::InvalidArgument("GGUF header already parsed".into()).into()),
            };
            if let Err(Stop::More { .. }) = &step {
                // Items other than array elements are parsed whole: retry from their start.
                c.rewind(start);
            }
            step?;
        }
    }

    fn preamble(&mut self, c: &mut Cursor) -> Step<()> {
        let magic = c.bytes(4, "GGUF magic")?;
        if magic != b"GGUF" {
            return Err(Error::bad_file(0, format!("not a GGUF file (magic {magic:02x?})")).into());
        }
        let version = c.u32("GGUF version")?;
        match version {
            2 | 3 => {}
            v if (1..=3).contains(&v.swap_bytes()) => {
                let msg = format!(
                    "version {v} is a byte-swapped {}: big-endian GGUF files are not supported",
                    v.swap_bytes()
                );
                return Err(Error::bad_file(4, msg).into());
            }
            v => return Err(Error::UnsupportedVersion { version: v }.into()),
        }
        let n_tensors = c.u64("tensor count")?;
        let n_kv = c.u64("metadata key-value count")?;
        let left = c.left_in_file();
        check_count(n_tensors, MIN_TENSOR_INFO_BYTES, left, 8, "tensor count")?;
        let left = left - n_tensors * MIN_TENSOR_INFO_BYTES;
        check_count(n_kv, MIN_KV_BYTES, left, 16, "metadata key-value count")?;
        self.version = version;
        self.n_tensors = n_tensors;
        self.n_kv = n_kv;
        // Bounded by the check above; capped so a lying count reserves little.
        self.metadata.entries.reserve(n_kv.min(1024) as usize);
        self.tensors.reserve(n_tensors.min(4096) as usize);
        self.phase = Phase::Kv;
        Ok(())
    }

    fn kv(&mut self, c: &mut Cursor) -> Step<()> {
        let at = c.offset();
        let i = self.metadata.entries.len();
        let key = c.string(&format!("key of metadata entry #{i}"))?;
        if key.is_empty() {
            return Err(Error::bad_file(at, format!("metadata entry #{i} has an empty key")).into());
        }
        if self.keys.contains(&key) {
            return Err(Error::bad_file(at, format!("duplicate metadata key {key:?}")).into());
        }
        let what = format!("value of metadata key {key:?}");
        let ty = read_type(c, &what)?;
        let value_at = c.offset();
        if ty == TYPE_ARRAY {
            let (array, remaining) = read_array_head(c, 1, &what)?;
            self.phase = Phase::KvArray { key, array, remaining, at: value_at };
            return Ok(());
        }
        let value = read_scalar(c, ty, &what)?;
        self.commit_kv(key, value, value_at)
    }

    /// Stores a complete key-value; `at` is where its value starts, for errors.
    fn commit_kv(&mut self, key: String, value: Value, at: u64) -> Step<()> {
        if key == ALIGNMENT_KEY {
            let a = value.as_i128().unwrap_or(0);
            if a <= 0 || a > i128::from(u32::MAX) || (a & (a - 1)) != 0 {
                let msg = format!(
                    "{ALIGNMENT_KEY} must be a power of two in u32 range, got {value:?} ({})",
                    value.type_name()
                );
                return Err(Error::bad_file(at, msg).into());
            }
            self.alignment = a as u64;
        }
        self.keys.insert(key.clone());
        self.metadata.entries.push((key, value));
        Ok(())
    }

    fn tensor_info(&mut self, c: &mut Cursor) -> Step<()> {
        let at = c.offset();
        let i = self.tensors.len();
        let name = c.string(&format!("name of tensor #{i}"))?;
        let what = format!("info of tensor {name:?}");
        let dims_at = c.offset();
        let n_dims = c.u32(&what)?;
        if n_dims == 0 || n_dims > MAX_DIMS {
            let msg = format!("tensor {name:?} has {n_dims} dimensions (1 to {MAX_DIMS} allowed)");
            return Err(Error::bad_file(dims_at, msg).into());
        }
        let mut dims = Vec::with_capacity(n_dims as usize);
        for _ in 0..n_dims {
            let dim_at = c.offset();
            let d = c.u64(&what)?;
            if d == 0 {
                let msg = format!("tensor {name:?} has a zero dimension");
                return Err(Error::bad_file(dim_at, msg).into());
            }
            dims.push(d);
        }
        let type_id = c.u32(&what)?;
        let offset_at = c.offset();
        let offset = c.u64(&what)?;
        let n_bytes = tensor_bytes(&name, &dims, type_id, at)?;
        if !offset.is_multiple_of(self.alignment) {
            let msg = format!(
                "tensor {name:?} offset {offset} is not a multiple of the alignment {}",
                self.alignment
            );
            return Err(Error::bad_file(offset_at, msg).into());
        }
        if self.names.contains(&name) {
            return Err(Error::bad_file(at, format!("duplicate tensor name {name:?}")).into());
        }
        self.names.insert(name.clone());
        self.tensors.push(TensorInfo { name, dims, type_id, offset, n_bytes, info_offset: at });
        Ok(())
    }

    /// Places the data section after the header (ending at `header_end`) and checks that every
    /// tensor lies inside the file and that no two overlap.
    fn finish(&mut self, header_end: u64, file_len: u64) -> Result<GgufFile> {
        let past_end = |what: String| Error::bad_file(header_end, what);
        let data_offset = header_end
            .checked_next_multiple_of(self.alignment)
            .ok_or_else(|| past_end("data section offset overflows".into()))?;
        for t in &self.tensors {
            let start = data_offset.checked_add(t.offset);
            let end = start.and_then(|s| s.checked_add(t.n_bytes));
            if end.is_none_or(|e| e > file_len) {
                let msg = format!(
                    "tensor {:?} data (offset {} + {} bytes after the data section at {data_offset}) \
                     extends past the end of the file ({file_len} bytes)",
                    t.name, t.offset, t.n_bytes
                );
                return Err(Error::bad_file(t.info_offset, msg));
            }
        }
        let order = data_order(&self.tensors);
        for pair in order.windows(2) {
            let (a, b) = (&self.tensors[pair[0]], &self.tensors[pair[1]]);
            // Both ends were checked against file_len above: no overflow.
            if a.offset + a.n_bytes > b.offset {
                let msg = format!(
                    "tensor {:?} (bytes {}..{} of the data section) overlaps tensor {:?} (from {})",
                    b.name,
                    b.offset,
                    b.offset + b.n_bytes,
                    a.name,
                    a.offset
                );
                return Err(Error::bad_file(b.info_offset, msg));
            }
        }
        Ok(GgufFile {
            version: self.version,
            metadata: std::mem::take(&mut self.metadata),
            tensors: std::mem::take(&mut self.tensors),
            alignment: self.alignment,
            data_offset,
            file_len,
        })
    }
}

/// Tensor indices in the order their data appears in the file.
pub(super) fn data_order(tensors: &[TensorInfo]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..tensors.len()).collect();
    order.sort_by_key(|&i| tensors[i].offset);
    order
}
