//! The one error type of brasa. Every variant is something a caller can act on; crossing into
//! JS each becomes an `Error` whose `code` is [`Error::code`].

/// What went wrong, with enough context to act on it (a byte offset for bad files, the tensor and
/// type for unsupported formats, the sizes for device limits).
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum Error {
    /// The file is not a valid GGUF file: `what` names the field and `offset` the byte where it
    /// was read.
    #[error("bad GGUF file at byte {offset}: {what}")]
    BadFile { offset: u64, what: String },

    /// The file ended (or the stream closed) before `what`, which starts at byte `offset`.
    #[error("truncated GGUF file: {what} at byte {offset} is past the end of the data ({len} bytes)")]
    Truncated { offset: u64, what: String, len: u64 },

    /// The version field (at byte 4) holds a version brasa does not read.
    #[error("unsupported GGUF version {version} at byte 4 (brasa reads versions 2 and 3)")]
    UnsupportedVersion { version: u32 },

    /// A tensor uses a block format brasa has no kernels for; `offset` is the byte where the
    /// tensor's entry in the file's tensor table starts, when known.
    #[error("tensor {tensor:?}{} has unsupported type {type_name} (ggml type {type_id})", table_entry(.offset))]
    UnsupportedType { tensor: String, type_id: u32, type_name: String, offset: Option<u64> },

    #[error("unsupported model architecture {0:?}")]
    UnsupportedArchitecture(String),

    /// A metadata key the model needs is absent.
    #[error("missing metadata key {0:?}")]
    MissingMetadata(String),

    /// A metadata key or tensor is present but has the wrong type or shape.
    #[error("invalid model: {0}")]
    InvalidModel(String),

    #[error("tokenizer: {0}")]
    Tokenizer(String),

    /// A chat template failed to parse or render (it raised, ran out of its work budget, or
    /// produced too much).
    #[error("chat template: {0}")]
    Template(String),

    /// No usable GPU adapter, or the device could not be created.
    #[error("GPU unavailable: {0}")]
    GpuUnavailable(String),

    /// The model needs more than the device allows.
    #[error("device limit exceeded: {what} needs {needed} but the device allows {limit}")]
    DeviceLimit { what: String, needed: u64, limit: u64 },

    /// The GPU could not allocate `bytes` bytes for `what` (0 when the failed operation has no
    /// size to report).
    #[error("GPU out of memory: {}", out_of_memory(.what, .bytes))]
    OutOfMemory { what: String, bytes: u64 },

    #[error("GPU device lost: {0}")]
    DeviceLost(String),

    /// A GPU operation failed validation: a bug in brasa, reported instead of a panic.
    #[error("GPU error: {0}")]
    Gpu(String),

    /// The model's arithmetic produced NaN or +inf where a number was needed (its weights hold
    /// them, or its activations overflowed the precision in use).
    #[error("numerical error: {0}")]
    Numerical(String),

    #[error("context full: {needed} tokens needed, context holds {capacity}")]
    ContextFull { needed: usize, capacity: usize },

    #[error("aborted")]
    Aborted,

    #[error("network: {0}")]
    Network(String),

    #[error("I/O: {0}")]
    Io(String),

    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

impl Error {
    /// A stable, machine-readable code for this error (the JS `Error.code`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadFile { .. } => "bad_file",
            Error::Truncated { .. } => "truncated",
            Error::UnsupportedVersion { .. } => "unsupported_version",
            Error::UnsupportedType { .. } => "unsupported_type",
            Error::UnsupportedArchitecture(_) => "unsupported_architecture",
            Error::MissingMetadata(_) => "missing_metadata",
            Error::InvalidModel(_) => "invalid_model",
            Error::Tokenizer(_) => "tokenizer",
            Error::Template(_) => "chat_template",
            Error::GpuUnavailable(_) => "gpu_unavailable",
            Error::DeviceLimit { .. } => "device_limit",
            Error::OutOfMemory { .. } => "out_of_memory",
            Error::DeviceLost(_) => "device_lost",
            Error::Gpu(_) => "gpu",
            Error::Numerical(_) => "numerical",
            Error::ContextFull { .. } => "context_full",
            Error::Aborted => "aborted",
            Error::Network(_) => "network",
            Error::Io(_) => "io",
            Error::InvalidArgument(_) => "invalid_argument",
        }
    }

    /// Shorthand for a [`Error::BadFile`].
    pub fn bad_file(offset: u64, what: impl Into<String>) -> Self {
        Error::BadFile { offset, what: what.into() }
    }
}

/// " (tensor table entry at byte N)", or nothing when the offset is unknown.
fn table_entry(offset: &Option<u64>) -> String {
    offset.map(|at| format!(" (tensor table entry at byte {at})")).unwrap_or_default()
}

/// "could not allocate 1073741824 bytes (1.00 GiB) for k_cache.0", or the operation alone.
fn out_of_memory(what: &str, bytes: &u64) -> String {
    if *bytes == 0 {
        return format!("{what} failed");
    }
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    let mut size = format!("{bytes} bytes");
    for (i, unit) in UNITS.iter().enumerate().rev() {
        let scale = 1u64 << (10 * (i + 1));
        if *bytes >= scale {
            size = format!("{size} ({:.2} {unit})", *bytes as f64 / scale as f64);
            break;
        }
    }
    format!("could not allocate {size} for {what}; a shorter context or a smaller model needs less")
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_memory_names_the_size() {
        let e = Error::OutOfMemory { what: "k_cache.0".into(), bytes: 3 << 29 };
        assert_eq!(
            e.to_string(),
            "GPU out of memory: could not allocate 1610612736 bytes (1.50 GiB) for k_cache.0; \
             a shorter context or a smaller model needs less"
        );
        let small = Error::OutOfMemory { what: "x".into(), bytes: 1000 };
        assert!(small.to_string().contains("allocate 1000 bytes for x"), "{small}");
        let unknown = Error::OutOfMemory { what: "a GPU operation".into(), bytes: 0 };
        assert_eq!(unknown.to_string(), "GPU out of memory: a GPU operation failed");
        assert_eq!(e.code(), "out_of_memory");
    }
}
