//! A little-endian read cursor over the buffered part of a GGUF header.
//!
//! The buffer may end in the middle of a field. A read that needs bytes not yet buffered stops
//! with [`Stop::More`]; the caller rewinds to the start of the item it was parsing and retries
//! when more bytes arrive. A read that needs bytes past the *file's* end can never succeed and
//! fails at once with [`Error::Truncated`].

use crate::error::{Error, Result};

/// Why a parse step stopped.
#[derive(Debug)]
pub(super) enum Stop {
    /// The buffer ends before `what`, at absolute byte `offset`; retry with more bytes.
    More { offset: u64, what: String },
    /// The file is bad (or a callback failed): give up.
    Fail(Error),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Fail(e)
    }
}

pub(super) type Step<T> = std::result::Result<T, Stop>;

pub(super) struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Absolute file offset of `buf[0]`.
    base: u64,
    file_len: u64,
}

impl<'a> Cursor<'a> {
    pub fn new(buf: &'a [u8], base: u64, file_len: u64) -> Self {
        Cursor { buf, pos: 0, base, file_len }
    }

    /// Absolute file offset of the next byte.
    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Bytes consumed from this cursor's buffer.
    pub fn consumed(&self) -> usize {
        self.pos
    }

    /// Move back to an earlier [`Cursor::consumed`] value (to retry an item).
    pub fn rewind(&mut self, consumed: usize) {
        self.pos = consumed;
    }

    /// Bytes buffered and not yet read.
    pub fn available(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Bytes between the cursor and the end of the file.
    pub fn left_in_file(&self) -> u64 {
        self.file_len.saturating_sub(self.offset())
    }

    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Checks that `n` more bytes exist in the file and are buffered.
    fn need(&self, n: u64, what: &str) -> Step<()> {
        if n > self.left_in_file() {
            return Err(Stop::Fail(Error::Truncated {
                offset: self.offset(),
                what: what.to_string(),
                len: self.file_len,
            }));
        }
        if n > self.available() as u64 {
            return Err(Stop::More { offset: self.offset(), what: what.to_string() });
        }
        Ok(())
    }

    /// The next `n` bytes.
    pub fn bytes(&mut self, n: u64, what: &str) -> Step<&'a [u8]> {
        self.need(n, what)?;
        // `need` proved n <= available, so it fits in usize.
        let n = n as usize;
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Step<[u8; N]> {
        let b = self.bytes(N as u64, what)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    pub fn u8(&mut self, what: &str) -> Step<u8> {
        Ok(self.array::<1>(what)?[0])
    }

    pub fn u32(&mut self, what: &str) -> Step<u32> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    pub fn u64(&mut self, what: &str) -> Step<u64> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// A GGUF string: u64 byte length, then UTF-8 bytes (no terminator).
    pub fn string(&mut self, what: &str) -> Step<String> {
        let at = self.offset();
        let len = self.u64(what)?;
        if len > self.left_in_file() {
            return Err(Error::bad_file(
                at,
                format!(
                    "{what}: string length {len} exceeds the {} bytes left in the file",
                    self.left_in_file()
                ),
            )
            .into());
        }
        let bytes = self.bytes(len, what)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(e) => Err(Error::bad_file(at + 8, format!("{what} is not valid UTF-8 ({e})")).into()),
        }
    }
}

/// Checks that `count` items of at least `min_size` bytes each fit in the `left` bytes of the
/// file, so that nothing is allocated for counts the file cannot back.
pub(super) fn check_count(count: u64, min_size: u64, left: u64, at: u64, what: &str) -> Result<()> {
    let needed = u128::from(count) * u128::from(min_size);
    if needed > u128::from(left) {
        return Err(Error::bad_file(
            at,
            format!(
                "{what}: {count} entries need at least {needed} bytes but only {left} are left in the file"
            ),
        ));
    }
    Ok(())
}
