//! Streams a GGUF file into GPU buffers.
//!
//! Bytes arrive in chunks of any size (a file read, a `fetch` stream). The header is parsed as
//! soon as it is complete; then every tensor the model needs is allocated on the GPU, its shape
//! checked, and its data repacked block by block into the GPU layout and written in bounded
//! pieces as it streams past. At no point is a whole tensor (let alone the file) in memory.

use std::collections::HashMap;
use std::sync::Arc;

use crate::chat::ChatTemplate;
use crate::error::{Error, Result};
use crate::gguf::{GgufFile, GgufReader, TensorBytes};
use crate::gpu::{GpuContext, GpuWeight};
use crate::model::fused::{fused_tensors, write_split};
use crate::model::hparams::HParams;
use crate::model::weights::ROPE_FACTORS;
use crate::model::weights::{assemble, expected_tensors, matrix_shape, Model};
use crate::quant::{BlockRepacker, QuantType};
use crate::tokenizer::Tokenizer;

/// Largest piece of repacked bytes written to the GPU at once.
const MAX_PIECE: usize = 1 << 20;
/// Natively, wgpu keeps `write_buffer` data in staging memory until the next submit: flush
/// after this many bytes so a load never holds more than this much extra.
const FLUSH_EVERY: u64 = 64 << 20;

/// A tensor being received: where its bytes go (one weight, or the parts of a fused tensor,
/// see `model::fused`).
struct Incoming {
    targets: Vec<GpuWeight>,
    repacker: BlockRepacker,
}

/// Everything set up once the header is known.
struct Receiving {
    hp: HParams,
    tokenizer: Tokenizer,
    chat_template: Option<ChatTemplate>,
    name: String,
    /// Indexed like `GgufFile::tensors`; `None` for tensors the model does not use.
    incoming: Vec<Option<Incoming>>,
    done: HashMap<String, GpuWeight>,
    weight_bytes: u64,
    gguf_weight_bytes: u64,
    unflushed: u64,
}

/// Push-based model loader: `push` chunks in file order, then `finish`.
pub struct ModelLoader {
    ctx: Arc<GpuContext>,
    reader: GgufReader,
    state: Option<Receiving>,
    /// Tensor bytes that arrived in the same chunk as the end of the header, before the
    /// tensors could be allocated (at most one chunk).
    early: Vec<(usize, u64, Vec<u8>)>,
}

impl ModelLoader {
    pub fn new(ctx: Arc<GpuContext>, file_len: u64) -> Self {
        ModelLoader { ctx, reader: GgufReader::new(file_len), state: None, early: Vec::new() }
    }

    /// Bytes consumed so far.
    pub fn bytes_done(&self) -> u64 {
        self.reader.position()
    }

    /// The parsed header, once complete.
    pub fn file(&self) -> Option<&GgufFile> {
        self.reader.file()
    }

    /// Feeds the next chunk of the file.
    pub fn push(&mut self, chunk: &[u8]) -> Result<()> {
        let ctx = &self.ctx;
        let state = &mut self.state;
        let early = &mut self.early;
        self.reader.push(chunk, &mut |piece: TensorBytes<'_>| match state.as_mut() {
            Some(s) => s.receive(ctx, piece.tensor, piece.bytes),
            None => {
                early.push((piece.tensor, piece.offset, piece.bytes.to_vec()));
                Ok(())
            }
        })?;
        if self.state.is_none() {
            if let Some(file) = self.reader.file() {
                let mut s = Receiving::start(&self.ctx, file)?;
                for (tensor, _offset, bytes) in std::mem::take(&mut self.early) {
                    s.receive(&self.ctx, tensor, &bytes)?;
                }
                self.state = Some(s);
            }
        }
        Ok(())
    }

    /// Ends the stream: checks that every tensor arrived whole and returns the model.
    pub fn finish(self) -> Result<Model> {
        let file = self.reader.finish()?;
        let mut s = self.state.ok_or_else(|| Error::Truncated {
            offset: 0,
            what: "GGUF header".into(),
            len: file.file_len,
        })?;
        for (i, slot) in s.incoming.iter_mut().enumerate() {
            if let Some(inc) = slot.take() {
                let targets = &inc.targets;
                let ctx = &self.ctx;
                inc.repacker.finish(&mut |off, bytes| write_split(ctx, targets, off, bytes))?;
                for w in inc.targets {
                    s.done.insert(w.name.clone(), w);
                }
                let _ = i;
            }
        }
        self.ctx.queue.submit([]);
        let weights = assemble(&s.hp, s.done)?;
        Ok(Model {
            hp: s.hp,
            weights,
            tokenizer: s.tokenizer,
            chat_template: s.chat_template,
            weight_bytes: s.weight_bytes,
            gguf_weight_bytes: s.gguf_weight_bytes,
            name: s.name,
        })
    }
}

impl Receiving {
    /// Checks the header against what the architecture needs and allocates every tensor.
    fn start(ctx: &GpuContext, file: &GgufFile) -> Result<Self> {
        let embd = file
            .tensor("token_embd.weight")
            .ok_or_else(|| Error::InvalidModel("missing tensor token_embd.weight".into()))?;
        let (n_vocab, _) = matrix_shape(embd);
        let n_vocab = u32::try_from(n_vocab)
            .map_err(|_| Error::InvalidModel(format!("vocabulary of {n_vocab} tokens")))?;
        let hp = HParams::from_metadata(&file.metadata, n_vocab)?;
        let tokenizer = Tokenizer::from_gguf(&file.metadata)?;
        if tokenizer.vocab_size() != n_vocab as usize {
            return Err(Error::InvalidModel(format!(
                "tokenizer has {} tokens but the embedding has {n_vocab} rows",
                tokenizer.vocab_size()
            )));
        }
        for unsupported in ["rope_factors_long.weight", "rope_factors_short.weight"] {
            if file.tensor(unsupported).is_some() {
                return Err(Error::InvalidModel(format!(
                    "LongRoPE ({unsupported}, Phi-3 128k) is not supported yet"
                )));
            }
        }
        let expected = expected_tensors(&hp);
        let mut incoming: Vec<Option<Incoming>> = (0..file.tensors.len()).map(|_| None).collect();
        let mut weight_bytes = 0;
        let mut gguf_weight_bytes = 0;
        // Fused tensors the file has provide their parts; those are not looked up alone.
        let mut provided = std::collections::HashSet::new();
        for fused in fused_tensors(&hp) {
            let Some(i) = file.tensors.iter().position(|t| t.name == fused.name) else { continue };
            let t = &file.tensors[i];
            let rows: u64 = fused.parts.iter().map(|(_, r)| r).sum();
            let (_, cols) =
                expected.iter().find(|(n, ..)| *n == fused.parts[0].0).map(|e| (e.1, e.2)).unwrap_or((0, 0));
            if matrix_shape(t) != (rows, cols) || t.dims.len() > 2 {
                return Err(Error::InvalidModel(format!(
                    "tensor {} has dims {:?}, expected [{cols}, {rows}]",
                    fused.name, t.dims
                )));
            }
            let ty = QuantType::for_tensor(&fused.name, t.type_id)?;
            let mut targets = Vec::new();
            for (name, part_rows) in &fused.parts {
                let w = ctx.create_weight(name, ty, *part_rows, cols)?;
                weight_bytes += w.row_bytes * part_rows;
                targets.push(w);
                provided.insert(name.clone());
            }
            gguf_weight_bytes += t.n_bytes;
            let repacker = BlockRepacker::new(ty, rows, cols, MAX_PIECE)?;
            incoming[i] = Some(Incoming { targets, repacker });
        }
        for (name, rows, cols, required) in &expected {
            if provided.contains(name) {
                continue;
            }
            let Some(i) = file.tensors.iter().position(|t| &t.name == name) else {
                if *required {
                    return Err(Error::InvalidModel(format!("missing tensor {name}")));
                }
                continue;
            };
            let t = &file.tensors[i];
            if matrix_shape(t) != (*rows, *cols) || t.dims.len() > 2 {
                return Err(Error::InvalidModel(format!(
                    "tensor {name} has dims {:?}, expected [{cols}, {rows}]",
                    t.dims
                )));
            }
            let ty = QuantType::for_tensor(name, t.type_id)?;
            let weight = ctx.create_weight(name, ty, *rows, *cols)?;
            weight_bytes += weight.row_bytes * rows;
            gguf_weight_bytes += t.n_bytes;
            let repacker = BlockRepacker::new(ty, *rows, *cols, MAX_PIECE)?;
            incoming[i] = Some(Incoming { targets: vec![weight], repacker });
        }
        // RoPE frequency divisors: the file's (Llama 3.1+), else ones, so one kernel serves all.
        let mut done = HashMap::new();
        if file.tensor(ROPE_FACTORS).is_none() {
            let half = hp.head_dim as u64 / 2;
            let ones = ctx.create_weight(ROPE_FACTORS, QuantType::F32, 1, half)?;
            ctx.write_weight(&ones, 0, bytemuck::cast_slice(&vec![1.0f32; half as usize]))?;
            weight_bytes += ones.row_bytes;
            done.insert(ROPE_FACTORS.to_string(), ones);
        }
        let name = file.metadata.opt_str("general.name")?.unwrap_or("").to_string();
        // A broken template must not stop plain completions: chat then reports the error.
        let chat_template = match ChatTemplate::for_model(&file.metadata, &tokenizer) {
            Ok(t) => Some(t),
            Err(e) => {
                log::warn!("{e}; chat is unavailable for this model");
                None
            }
        };
        Ok(Receiving {
            hp,
            tokenizer,
            chat_template,
            name,
            incoming,
            done,
            weight_bytes,
            gguf_weight_bytes,
            unflushed: 0,
        })
    }

    /// Repacks and uploads one piece of tensor `index`'s data.
    fn receive(&mut self, ctx: &GpuContext, index: usize, bytes: &[u8]) -> Result<()> {
        let Some(Some(inc)) = self.incoming.get_mut(index) else {
            return Ok(()); // a tensor this architecture does not use
        };
        let targets = &inc.targets;
        inc.repacker.push(bytes, &mut |off, data| write_split(ctx, targets, off, data))?;
        self.unflushed += bytes.len() as u64;
        if self.unflushed >= FLUSH_EVERY {
            ctx.queue.submit([]);
            self.unflushed = 0;
        }
        Ok(())
    }
}
