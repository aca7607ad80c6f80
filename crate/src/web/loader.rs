//! `ModelLoader` and `Model` in JS: the page pushes the bytes of a GGUF file chunk by chunk as they
//! arrive from `fetch`; the weights go straight into GPU buffers, so the file is never held whole
//! in wasm memory or a JS buffer.

use std::collections::BTreeMap;
use std::sync::Arc;

use wasm_bindgen::prelude::*;

use super::{js_error, set, Engine};
use crate::model;
use crate::Error;

/// Receives a model file in chunks (wraps [`model::ModelLoader`]): `new ModelLoader(engine,
/// fileLen)`, then `push(chunk)` for every chunk in order, then `finish()`. The files of a split
/// model (`…-00001-of-00003.gguf` …) go through one loader, with `nextFile(fileLen)` between.
#[wasm_bindgen]
pub struct ModelLoader {
    inner: model::ModelLoader,
    /// Bytes announced so far (all files).
    file_len: u64,
}

#[wasm_bindgen]
impl ModelLoader {
    /// `file_len` is the total size (from `Content-Length` or `File.size`): sizes read from the
    /// file are checked against it.
    #[wasm_bindgen(constructor)]
    pub fn new(engine: &Engine, file_len: u64) -> ModelLoader {
        ModelLoader { inner: engine.inner.loader(file_len), file_len }
    }

    /// Takes the next chunk. wasm-bindgen copies the `Uint8Array` into wasm memory for the
    /// duration of this call only.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), JsValue> {
        let new_len = self.inner.bytes_done() + chunk.len() as u64;
        if new_len > self.file_len {
            return Err(js_error(Error::InvalidArgument(format!(
                "received {new_len} bytes but the file was announced as {} bytes",
                self.file_len
            ))));
        }
        self.inner.push(chunk).map_err(js_error)
    }

    /// Ends the current file of a split model and starts the next, of `file_len` bytes.
    /// Rejects with `truncated` when the current file is incomplete, `invalid_argument` when
    /// the model has no further file.
    #[wasm_bindgen(js_name = nextFile)]
    pub fn next_file(&mut self, file_len: u64) -> Result<(), JsValue> {
        self.inner.next_file(file_len).map_err(js_error)?;
        self.file_len = self.inner.bytes_done() + file_len;
        Ok(())
    }

    /// Bytes received so far (all files).
    #[wasm_bindgen(getter, js_name = bytesDone)]
    pub fn bytes_done(&self) -> u64 {
        self.inner.bytes_done()
    }

    /// Ends the stream and returns the model. Rejects with code `truncated` when the stream
    /// ended early.
    pub fn finish(self) -> Result<Model, JsValue> {
        // What the file held, for `summary()`: counted before the header is dropped.
        let types = self.inner.tensor_types().clone();
        let file = self.inner.file().map(|f| {
            let arch = f.metadata.opt_str("general.architecture").ok().flatten().unwrap_or("");
            FileSummary {
                version: f.version,
                architecture: arch.to_string(),
                tensors: types.values().map(|&n| n as usize).sum(),
                metadata: f.metadata.entries.len(),
                types,
            }
        });
        let inner = self.inner.finish().map_err(js_error)?;
        let file = file.ok_or_else(|| js_error(Error::Gpu("loader finished without a header".into())))?;
        // generate::Session takes Arc<Model> on both targets; on wasm32 nothing crosses threads.
        #[allow(clippy::arc_with_non_send_sync)]
        let inner = Arc::new(inner);
        Ok(Model { inner, file, file_len: self.file_len })
    }
}

struct FileSummary {
    version: u32,
    architecture: String,
    tensors: usize,
    metadata: usize,
    types: BTreeMap<u32, u32>,
}

/// A loaded model: its weights live on the GPU. Shared by sessions.
#[wasm_bindgen]
pub struct Model {
    pub(crate) inner: Arc<model::Model>,
    file: FileSummary,
    file_len: u64,
}

#[wasm_bindgen]
impl Model {
    /// A summary, as a plain object: `{name, architecture, version, tensors, metadata, bytes,
    /// weightBytes, ggufWeightBytes, nLayer, nEmbd, nVocab, types: {ggmlTypeId: count}}`.
    pub fn summary(&self) -> js_sys::Object {
        let (f, hp) = (&self.file, &self.inner.hp);
        let types = js_sys::Object::new();
        for (id, n) in &f.types {
            set(&types, &id.to_string(), (*n).into());
        }
        let o = js_sys::Object::new();
        set(&o, "name", self.inner.name.as_str().into());
        set(&o, "architecture", f.architecture.as_str().into());
        set(&o, "version", f.version.into());
        set(&o, "tensors", (f.tensors as f64).into());
        set(&o, "metadata", (f.metadata as f64).into());
        // Byte counts stay exact as f64 up to 2^53 (8 PiB).
        set(&o, "bytes", (self.file_len as f64).into());
        set(&o, "weightBytes", (self.inner.weight_bytes as f64).into());
        set(&o, "ggufWeightBytes", (self.inner.gguf_weight_bytes as f64).into());
        set(&o, "nLayer", hp.n_layer.into());
        set(&o, "nEmbd", hp.n_embd.into());
        set(&o, "nVocab", hp.n_vocab.into());
        set(&o, "types", types.into());
        o
    }

    /// The prompt for `messages` (`[{role, content}, …]`) rendered with the model's chat
    /// template (or the built-in one for its family), ending where the assistant's reply
    /// begins when `add_generation_prompt`. Errors: `invalid_argument` for a malformed list,
    /// `chat_template` when the template fails.
    #[wasm_bindgen(js_name = applyChatTemplate)]
    pub fn apply_chat_template(
        &self,
        messages: JsValue,
        add_generation_prompt: bool,
    ) -> Result<String, JsValue> {
        let template = self.inner.chat_template.as_ref().ok_or_else(|| {
            js_error(Error::Template("this model's chat template could not be parsed".into()))
        })?;
        template.render(&chat_messages(&messages)?, add_generation_prompt).map_err(js_error)
    }
}

/// `[{role: string, content: string}, …]` from JS.
pub(crate) fn chat_messages(v: &JsValue) -> Result<Vec<crate::chat::Message>, JsValue> {
    let bad =
        || js_error(Error::InvalidArgument("messages must be an array of {role, content} strings".into()));
    let arr: &js_sys::Array = v.dyn_ref().ok_or_else(bad)?;
    arr.iter()
        .map(|m| {
            let field = |k: &str| js_sys::Reflect::get(&m, &k.into()).ok().and_then(|x| x.as_string());
            Ok(crate::chat::Message {
                role: field("role").ok_or_else(bad)?,
                content: field("content").ok_or_else(bad)?,
            })
        })
        .collect()
}
