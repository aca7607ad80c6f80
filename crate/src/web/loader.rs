//! `ModelLoader` and `Model` in JS: the page pushes the bytes of a GGUF file chunk by chunk as they
//! arrive from `fetch`, so the file is never held whole in wasm memory or a JS buffer.
//!
//! Interim version: until `generate::ModelLoader` exists it reads only the fixed GGUF preamble
//! (magic, version, tensor and metadata counts) and counts the bytes, which is what the browser
//! tests check today.

use wasm_bindgen::prelude::*;

use super::{js_error, Engine};
use crate::Error;

/// Bytes of the fixed preamble: magic (4), version (u32), tensor count (u64), metadata count (u64).
const PREAMBLE: usize = 24;

/// Receives a model file in chunks. `new ModelLoader(engine, fileLen)`, then `push(chunk)` for
/// every chunk in order, then `finish()`.
#[wasm_bindgen]
pub struct ModelLoader {
    file_len: u64,
    bytes_done: u64,
    preamble: Vec<u8>,
}

#[wasm_bindgen]
impl ModelLoader {
    /// `file_len` is the total size (from `Content-Length` or `File.size`): sizes read from the
    /// file are checked against it.
    #[wasm_bindgen(constructor)]
    pub fn new(_engine: &Engine, file_len: u64) -> ModelLoader {
        ModelLoader {
            file_len,
            bytes_done: 0,
            preamble: Vec::with_capacity(PREAMBLE),
        }
    }

    /// Takes the next chunk. wasm-bindgen copies the `Uint8Array` into wasm memory for the
    /// duration of this call only.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), JsValue> {
        let new_len = self.bytes_done + chunk.len() as u64;
        if new_len > self.file_len {
            return Err(js_error(Error::InvalidArgument(format!(
                "received {new_len} bytes but the file was announced as {} bytes",
                self.file_len
            ))));
        }
        if self.preamble.len() < PREAMBLE {
            let take = (PREAMBLE - self.preamble.len()).min(chunk.len());
            self.preamble.extend_from_slice(&chunk[..take]);
            if self.preamble.len() >= 4 && &self.preamble[..4] != b"GGUF" {
                return Err(js_error(Error::bad_file(0, "magic is not \"GGUF\"")));
            }
        }
        self.bytes_done = new_len;
        Ok(())
    }

    /// Bytes received so far.
    #[wasm_bindgen(getter, js_name = bytesDone)]
    pub fn bytes_done(&self) -> u64 {
        self.bytes_done
    }

    /// Ends the stream. Rejects with code `truncated` when fewer bytes than announced arrived.
    pub fn finish(self) -> Result<Model, JsValue> {
        if self.bytes_done < self.file_len || self.preamble.len() < PREAMBLE {
            return Err(js_error(Error::Truncated {
                offset: self.bytes_done,
                what: "model file".into(),
                len: self.bytes_done,
            }));
        }
        let p = &self.preamble;
        let word = |at: usize, n: usize| {
            p[at..at + n]
                .iter()
                .rev()
                .fold(0u64, |a, &b| a << 8 | b as u64)
        };
        Ok(Model {
            version: word(4, 4) as u32,
            tensor_count: word(8, 8),
            metadata_count: word(16, 8),
            file_len: self.file_len,
        })
    }
}

/// A loaded model.
#[wasm_bindgen]
pub struct Model {
    version: u32,
    tensor_count: u64,
    metadata_count: u64,
    file_len: u64,
}

#[wasm_bindgen]
impl Model {
    /// A JSON summary of the file: `{version, tensors, metadata, bytes}`.
    pub fn summary(&self) -> String {
        format!(
            r#"{{"version":{},"tensors":{},"metadata":{},"bytes":{}}}"#,
            self.version, self.tensor_count, self.metadata_count, self.file_len
        )
    }
}
