//! `ModelLoader` and `Model` in JS: the page pushes the bytes of a GGUF file chunk by chunk as they
//! arrive from `fetch`, so the file is never held whole in wasm memory or a JS buffer.
//!
//! Interim version: until `generate::ModelLoader` exists it streams the file through
//! [`GgufReader`] (header parsed, tensor data counted, nothing kept), which is what the browser
//! tests check today.

use std::collections::BTreeMap;

use wasm_bindgen::prelude::*;

use super::{js_error, Engine};
use crate::gguf::{GgufFile, GgufReader};
use crate::Error;

/// Receives a model file in chunks. `new ModelLoader(engine, fileLen)`, then `push(chunk)` for
/// every chunk in order, then `finish()`.
#[wasm_bindgen]
pub struct ModelLoader {
    reader: GgufReader,
    file_len: u64,
    bytes_done: u64,
    tensor_bytes: u64,
}

#[wasm_bindgen]
impl ModelLoader {
    /// `file_len` is the total size (from `Content-Length` or `File.size`): sizes read from the
    /// file are checked against it.
    #[wasm_bindgen(constructor)]
    pub fn new(_engine: &Engine, file_len: u64) -> ModelLoader {
        ModelLoader {
            reader: GgufReader::new(file_len),
            file_len,
            bytes_done: 0,
            tensor_bytes: 0,
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
        let tensor_bytes = &mut self.tensor_bytes;
        self.reader
            .push(chunk, &mut |piece| {
                *tensor_bytes += piece.bytes.len() as u64;
                Ok(())
            })
            .map_err(js_error)?;
        self.bytes_done = new_len;
        Ok(())
    }

    /// Bytes received so far.
    #[wasm_bindgen(getter, js_name = bytesDone)]
    pub fn bytes_done(&self) -> u64 {
        self.bytes_done
    }

    /// Ends the stream. Rejects with code `truncated` when the stream ended early.
    pub fn finish(self) -> Result<Model, JsValue> {
        let file = self.reader.finish().map_err(js_error)?;
        Ok(Model {
            file,
            tensor_bytes: self.tensor_bytes,
        })
    }
}

/// A loaded model.
#[wasm_bindgen]
pub struct Model {
    file: GgufFile,
    /// Tensor data bytes that streamed past (excluding padding).
    tensor_bytes: u64,
}

#[wasm_bindgen]
impl Model {
    /// A summary of the file, as a plain object: `{version, architecture, tensors, metadata,
    /// bytes, tensorBytes, tensorBytesExpected, types: {ggmlTypeId: count}}`.
    pub fn summary(&self) -> js_sys::Object {
        let f = &self.file;
        let types = js_sys::Object::new();
        let mut counts = BTreeMap::<u32, u32>::new();
        for t in &f.tensors {
            *counts.entry(t.type_id).or_default() += 1;
        }
        for (id, n) in counts {
            set(&types, &id.to_string(), n.into());
        }
        let arch = f
            .metadata
            .opt_str("general.architecture")
            .ok()
            .flatten()
            .unwrap_or("");
        let expected: u64 = f.tensors.iter().map(|t| t.n_bytes).sum();
        let o = js_sys::Object::new();
        set(&o, "version", f.version.into());
        set(&o, "architecture", arch.into());
        set(&o, "tensors", (f.tensors.len() as f64).into());
        set(&o, "metadata", (f.metadata.entries.len() as f64).into());
        // Byte counts stay exact as f64 up to 2^53 (8 PiB).
        set(&o, "bytes", (f.file_len as f64).into());
        set(&o, "tensorBytes", (self.tensor_bytes as f64).into());
        set(&o, "tensorBytesExpected", (expected as f64).into());
        set(&o, "types", types.into());
        o
    }
}

/// Sets a property on a plain object (cannot fail for a fresh `Object`, so the result is ignored).
fn set(o: &js_sys::Object, key: &str, value: JsValue) {
    let _ = js_sys::Reflect::set(o, &key.into(), &value);
}
