//! [`GgufReader`]: the push parser that turns a byte stream into a [`GgufFile`] and a stream of
//! tensor data pieces.
//!
//! Header bytes are copied into a buffer until the header parser ([`super::header`]) has all it
//! needs; the parser keeps its progress between pushes (whole items, and array elements one by
//! one), so feeding the header in tiny chunks costs no re-parsing. After the header, chunks are
//! cut at tensor boundaries and handed to the caller without being copied or kept.

use super::cursor::{Cursor, Stop};
use super::header::{data_order, HeaderParser};
use super::GgufFile;
use crate::error::{Error, Result};

/// A chunk of one tensor's raw (file-format) bytes, as it streams past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TensorBytes<'a> {
    /// Index of the tensor in [`GgufFile::tensors`].
    pub tensor: usize,
    /// Offset of `bytes[0]` within the tensor's data.
    pub offset: u64,
    pub bytes: &'a [u8],
}

/// Header bytes are appended to the buffer in portions of at least this size (and at least the
/// size of what is already buffered), so a big chunk that ends the header is copied only in
/// part: the data after the header goes straight to the callback.
const MIN_PORTION: usize = 64 * 1024;

/// Incremental GGUF reader: see the [module documentation](super).
pub struct GgufReader {
    file_len: u64,
    /// Bytes pushed so far.
    position: u64,
    header: HeaderParser,
    /// Header bytes not parsed yet; `buf[0]` is at absolute offset `buf_base`.
    buf: Vec<u8>,
    buf_base: u64,
    /// Where and what the header parser was reading when it last ran out of bytes.
    pending: (u64, String),
    file: Option<GgufFile>,
    data: DataCursor,
    /// The first error: every later call returns it again.
    failed: Option<Error>,
}

/// Progress through the data section.
#[derive(Default)]
struct DataCursor {
    /// Tensor indices in file order.
    order: Vec<usize>,
    /// Index into `order` of the next tensor with bytes still to come.
    next: usize,
    /// Absolute offset of the next byte.
    pos: u64,
}

impl GgufReader {
    /// `file_len`: the total length of the file (from the file system or Content-Length); all
    /// sizes are checked against it.
    pub fn new(file_len: u64) -> Self {
        GgufReader {
            file_len,
            position: 0,
            header: HeaderParser::new(),
            buf: Vec::new(),
            buf_base: 0,
            pending: (0, "GGUF magic".to_string()),
            file: None,
            data: DataCursor::default(),
            failed: None,
        }
    }

    /// Feed the next chunk (any size, including 0 or 1 byte). Header bytes are buffered until
    /// the header is complete; after that, tensor data is passed to `on_tensor` piece by piece
    /// (a piece never spans two tensors; padding between tensors is skipped) and is not
    /// buffered. Returns `Ok(true)` once the header has been parsed (then [`Self::file`] is
    /// `Some`). After an error (including one returned by `on_tensor`) the reader is dead:
    /// every later call returns the same error.
    pub fn push(
        &mut self,
        chunk: &[u8],
        on_tensor: &mut dyn FnMut(TensorBytes<'_>) -> Result<()>,
    ) -> Result<bool> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let result = self.push_inner(chunk, on_tensor);
        if let Err(e) = &result {
            self.failed = Some(e.clone());
        }
        result
    }

    pub fn file(&self) -> Option<&GgufFile> {
        self.file.as_ref()
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Call at end of stream: `Err(Error::Truncated)` naming what is missing (a header field or
    /// a tensor's data) if the stream ended early, the first error if there was one, else the
    /// file.
    pub fn finish(self) -> Result<GgufFile> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let Some(file) = self.file else {
            let (offset, what) = self.pending;
            return Err(Error::Truncated { offset, what, len: self.position });
        };
        if self.position < self.file_len {
            let what = match self.data.order.get(self.data.next) {
                Some(&t) => format!("data of tensor {:?}", file.tensors[t].name),
                None => "padding at the end of the file".to_string(),
            };
            return Err(Error::Truncated { offset: self.position, what, len: self.position });
        }
        Ok(file)
    }

    fn push_inner(
        &mut self,
        mut chunk: &[u8],
        on_tensor: &mut dyn FnMut(TensorBytes<'_>) -> Result<()>,
    ) -> Result<bool> {
        let left = self.file_len - self.position;
        if chunk.len() as u64 > left {
            let msg = format!(
                "{} bytes pushed after byte {}, past the end of the file ({} bytes)",
                chunk.len(),
                self.position,
                self.file_len
            );
            return Err(Error::bad_file(self.file_len, msg));
        }
        self.position += chunk.len() as u64;
        while self.file.is_none() && !chunk.is_empty() {
            let n = chunk.len().min(self.buf.len().max(MIN_PORTION));
            self.buf.extend_from_slice(&chunk[..n]);
            chunk = &chunk[n..];
            self.parse_buffered(on_tensor)?;
        }
        if let Some(file) = &self.file {
            feed(file, &mut self.data, chunk, on_tensor)?;
        }
        Ok(self.file.is_some())
    }

    /// Runs the header parser on the buffer; once the header is complete, streams the buffered
    /// bytes after it and frees the buffer.
    fn parse_buffered(&mut self, on_tensor: &mut dyn FnMut(TensorBytes<'_>) -> Result<()>) -> Result<()> {
        let mut c = Cursor::new(&self.buf, self.buf_base, self.file_len);
        let parsed = self.header.parse(&mut c);
        let used = c.consumed();
        match parsed {
            Ok(file) => {
                let buf = std::mem::take(&mut self.buf);
                self.data = DataCursor {
                    order: data_order(&file.tensors),
                    next: 0,
                    pos: self.buf_base + used as u64,
                };
                let file = self.file.insert(file);
                feed(file, &mut self.data, &buf[used..], on_tensor)
            }
            Err(Stop::More { offset, what }) => {
                self.pending = (offset, what);
                self.buf.drain(..used);
                self.buf_base += used as u64;
                Ok(())
            }
            Err(Stop::Fail(e)) => Err(e),
        }
    }
}

/// Passes the bytes of `chunk` (which starts at `data.pos`) that belong to tensors to
/// `on_tensor`, one piece per tensor, and skips the rest (padding).
fn feed(
    file: &GgufFile,
    data: &mut DataCursor,
    mut chunk: &[u8],
    on_tensor: &mut dyn FnMut(TensorBytes<'_>) -> Result<()>,
) -> Result<()> {
    while !chunk.is_empty() {
        let Some(&t) = data.order.get(data.next) else {
            data.pos += chunk.len() as u64; // trailing padding
            return Ok(());
        };
        let info = &file.tensors[t];
        // The header check guarantees start + n_bytes <= file_len, and tensors in `order`
        // do not overlap, so `data.pos <= start` whenever `data.next` moves on.
        let start = file.data_offset + info.offset;
        let end = start + info.n_bytes;
        if data.pos < start {
            let skip = (start - data.pos).min(chunk.len() as u64) as usize;
            chunk = &chunk[skip..];
            data.pos += skip as u64;
            continue;
        }
        let n = (end - data.pos).min(chunk.len() as u64) as usize;
        on_tensor(TensorBytes { tensor: t, offset: data.pos - start, bytes: &chunk[..n] })?;
        chunk = &chunk[n..];
        data.pos += n as u64;
        if data.pos == end {
            data.next += 1;
        }
    }
    Ok(())
}

/// Parses only the header of a file on disk, reading it in 1 MiB pieces until the header is
/// complete (the tensor data is not read).
pub fn read_header(path: &std::path::Path) -> Result<GgufFile> {
    use std::io::Read;
    let io = |e: std::io::Error| Error::Io(format!("{}: {e}", path.display()));
    let mut f = std::fs::File::open(path).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    let mut reader = GgufReader::new(len);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match f.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(io(e)),
        };
        if n == 0 {
            return reader.finish();
        }
        if reader.push(&buf[..n], &mut |_| Ok(()))? {
            // `push` returned true, so the file is there.
            return reader.file.take().ok_or_else(|| Error::Io("header vanished".into()));
        }
    }
}
