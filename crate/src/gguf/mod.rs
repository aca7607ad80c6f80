//! Incremental GGUF reader (versions 2 and 3).
//!
//! [`GgufReader`] is a push parser: feed it chunks of any size as they arrive (from a file, a
//! `fetch` stream, a cache); it buffers only the header, returns the parsed [`GgufFile`] as soon
//! as the header is complete, then hands every tensor's data to a callback piece by piece as it
//! streams past, without ever holding a whole tensor. Every count and size read from the file is
//! checked against the file's length before anything is allocated.

mod cursor;
mod ggml_types;
mod header;
mod metadata;
mod reader;
#[cfg(test)]
pub(crate) mod test_writer;
#[cfg(test)]
mod tests;
mod values;

pub use ggml_types::block_size;
pub use metadata::{ArrayValue, Metadata, Value};
pub use reader::{read_header, GgufReader, TensorBytes};

/// A parsed GGUF header: metadata and tensor table.
#[derive(Debug, Clone)]
pub struct GgufFile {
    pub version: u32,
    pub metadata: Metadata,
    pub tensors: Vec<TensorInfo>,
    /// `general.alignment`, 32 when absent.
    pub alignment: u64,
    /// Absolute byte offset where tensor data starts (aligned).
    pub data_offset: u64,
    /// Total file length the reader was told about.
    pub file_len: u64,
}

/// One entry of the tensor table.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    /// Dimensions in ggml order: `dims[0]` is the contiguous one (columns of a weight matrix).
    pub dims: Vec<u64>,
    /// Raw ggml type id (see [`crate::quant::QuantType::from_ggml`]).
    pub type_id: u32,
    /// Offset of the data relative to [`GgufFile::data_offset`].
    pub offset: u64,
    /// Size of the data in bytes (computed from dims and type; validated).
    pub n_bytes: u64,
    /// Absolute byte offset where this tensor's entry in the tensor table starts (for errors).
    pub info_offset: u64,
}

impl TensorInfo {
    pub fn n_elements(&self) -> u64 {
        self.dims.iter().product()
    }
}

impl GgufFile {
    /// The tensor with this name.
    pub fn tensor(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// Absolute byte range of a tensor's data in the file (for Range requests).
    pub fn data_range(&self, t: &TensorInfo) -> std::ops::Range<u64> {
        let start = self.data_offset + t.offset;
        start..start + t.n_bytes
    }
}
