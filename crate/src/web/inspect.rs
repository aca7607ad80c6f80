//! `HeaderProbe` in JS: reads only a GGUF file's header (the page feeds it the first bytes, e.g.
//! from Range requests) and reports what the model is and whether it fits a device
//! ([`crate::model::plan`]) — before any weight is downloaded.

use wasm_bindgen::prelude::*;

use super::{js_error, set};
use crate::gguf::{GgufFile, GgufReader};
use crate::kernels::KvType;
use crate::model::plan::MemoryPlan;
use crate::Error;

/// `new HeaderProbe(fileLen)`, `push(chunk)` until it returns true, then `report(…)`.
#[wasm_bindgen]
pub struct HeaderProbe {
    reader: GgufReader,
    file: Option<GgufFile>,
}

#[wasm_bindgen]
impl HeaderProbe {
    #[wasm_bindgen(constructor)]
    pub fn new(file_len: u64) -> HeaderProbe {
        HeaderProbe { reader: GgufReader::new(file_len), file: None }
    }

    /// Takes the next bytes of the file (in order from byte 0); true once the header is
    /// complete (later bytes are ignored). Rejects with `bad_file` for a damaged header.
    pub fn push(&mut self, chunk: &[u8]) -> Result<bool, JsValue> {
        if self.file.is_some() {
            return Ok(true);
        }
        let done = self.reader.push(chunk, &mut |_| Ok(())).map_err(js_error)?;
        if done {
            self.file = self.reader.file().cloned();
        }
        Ok(done)
    }

    /// Bytes pushed so far.
    #[wasm_bindgen(getter, js_name = bytesRead)]
    pub fn bytes_read(&self) -> u64 {
        self.reader.position()
    }

    /// `{name, architecture, parameters, fileBytes, types: {Q4_K: n, …}, contextLength (the
    /// model's), nLayer, nEmbd, nVocab, weightBytes, kvCacheBytes, scratchBytes, totalBytes,
    /// largestBuffer, fits, reasons: [string]}` for a session of `ctx_size` tokens with a K/V
    /// cache of `kv_cache` (`"f16"`, the default, or `"f32"`) on a device whose largest buffer
    /// binding is `max_binding` bytes, with `memory_budget` bytes (when known). Rejects with
    /// the error loading would give (`unsupported_architecture`, `unsupported_type`, …).
    pub fn report(
        &self,
        ctx_size: u32,
        max_binding: f64,
        memory_budget: Option<f64>,
        kv_cache: Option<String>,
    ) -> Result<js_sys::Object, JsValue> {
        let file = self
            .file
            .as_ref()
            .ok_or_else(|| js_error(Error::InvalidArgument("the header is not complete yet".into())))?;
        let kv = kv_cache.as_deref().map(KvType::parse).transpose().map_err(js_error)?.unwrap_or_default();
        let plan = MemoryPlan::new(file, ctx_size, kv, 256).map_err(js_error)?;
        let verdict = plan.verdict(max_binding as u64, memory_budget.map(|b| b as u64));
        let o = js_sys::Object::new();
        let name = file.metadata.opt_str("general.name").ok().flatten().unwrap_or("");
        set(&o, "name", name.into());
        set(&o, "architecture", plan.hp.arch.name().into());
        set(&o, "parameters", (plan.parameters as f64).into());
        set(&o, "fileBytes", (file.file_len as f64).into());
        let types = js_sys::Object::new();
        for (ty, n) in &plan.tensor_types {
            set(&types, ty, (*n).into());
        }
        set(&o, "types", types.into());
        set(&o, "contextLength", plan.hp.n_ctx_train.into());
        set(&o, "nLayer", plan.hp.n_layer.into());
        set(&o, "nEmbd", plan.hp.n_embd.into());
        set(&o, "nVocab", plan.hp.n_vocab.into());
        for (key, v) in [
            ("weightBytes", plan.weight_bytes),
            ("kvCacheBytes", plan.kv_cache_bytes),
            ("scratchBytes", plan.scratch_bytes),
            ("totalBytes", plan.total_bytes()),
            ("largestBuffer", plan.largest_buffer),
        ] {
            set(&o, key, (v as f64).into());
        }
        set(&o, "fits", verdict.fits.into());
        let reasons = js_sys::Array::new();
        for r in &verdict.reasons {
            reasons.push(&r.as_str().into());
        }
        set(&o, "reasons", reasons.into());
        Ok(o)
    }
}
