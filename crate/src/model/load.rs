//! Streams a GGUF file into GPU buffers.
//!
//! Bytes arrive in chunks of any size (a file read, a `fetch` stream). The header is parsed as
//! soon as it is complete; then every tensor the model needs is allocated on the GPU, its shape
//! checked, and its data repacked block by block into the GPU layout and written in bounded
//! pieces as it streams past. At no point is a whole tensor (let alone the file) in memory.
//! A split model's files stream through the same loader one after the other: the first
//! header describes the model, each file's header allocates that file's tensors.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use crate::chat::ChatTemplate;
use crate::error::{Error, Result};
use crate::gguf::{GgufFile, GgufReader, TensorBytes, TensorInfo};
use crate::gpu::{GpuContext, GpuWeight};
use crate::model::fused::{fused_tensors, write_split};
use crate::model::hparams::HParams;
use crate::model::qkv;
use crate::model::split::SplitInfo;
use crate::model::stacked;
use crate::model::weights::ROPE_FACTORS;
use crate::model::weights::{assemble, expected_tensors, matrix_shape, Model};
use crate::quant::widen::Widener;
use crate::quant::{BlockRepacker, QuantType};
use crate::tokenizer::Tokenizer;

/// Largest piece of repacked bytes written to the GPU at once.
const MAX_PIECE: usize = 1 << 20;
/// Natively, wgpu keeps `write_buffer` data in staging memory until the next submit: flush
/// after this many bytes so a load never holds more than this much extra.
const FLUSH_EVERY: u64 = 64 << 20;

/// A tensor being received and where its repacked bytes go.
struct Incoming {
    dest: Dest,
    repacker: BlockRepacker,
    /// For a tensor stored in a wider block type than the file's (`quant::widen`): its blocks
    /// rewritten before the repacker, and the scratch they go to.
    widen: Option<(Widener, Vec<u8>)>,
}

impl Incoming {
    fn new(dest: Dest, repacker: BlockRepacker) -> Self {
        Incoming { dest, repacker, widen: None }
    }
}

/// Where a tensor's repacked bytes go.
enum Dest {
    /// One weight, or the parts of a fused tensor (consecutive row ranges, `model::fused`).
    Rows(Vec<GpuWeight>),
    /// One or both halves of a layer's stacked gate/up weight (`model::stacked`), kept in
    /// `Receiving::stacked` under this name until the last file ends.
    Stacked { name: String, first_half: u64 },
    /// Rows `row0 ..` of a stacked q/k/v weight (`model::qkv`), kept in `Receiving::stacked`.
    Concat { name: String, row0: u64 },
}

impl Dest {
    fn write(
        &self,
        ctx: &GpuContext,
        stacked: &HashMap<String, GpuWeight>,
        offset: u64,
        data: &[u8],
    ) -> Result<()> {
        match self {
            Dest::Rows(targets) => write_split(ctx, targets, offset, data),
            Dest::Stacked { name, first_half } => match stacked.get(name) {
                Some(w) => stacked::write(ctx, w, *first_half, offset, data),
                None => Err(Error::InvalidModel(format!("no stacked weight {name}"))),
            },
            Dest::Concat { name, row0 } => match stacked.get(name) {
                Some(w) => write_split(ctx, std::slice::from_ref(w), row0 * w.row_bytes + offset, data),
                None => Err(Error::InvalidModel(format!("no stacked weight {name}"))),
            },
        }
    }
}

/// Everything set up once the (first) header is known.
struct Receiving {
    hp: HParams,
    tokenizer: Tokenizer,
    chat_template: Option<ChatTemplate>,
    name: String,
    /// The tensors the architecture reads: (name, rows, columns, required).
    expected: Vec<(String, u64, u64, bool)>,
    /// Indexed like the current file's `GgufFile::tensors`; `None` for tensors the model does
    /// not use.
    incoming: Vec<Option<Incoming>>,
    /// Names of the tensors allocated so far (in any file), fused parts included.
    allocated: HashSet<String>,
    done: HashMap<String, GpuWeight>,
    /// Stacked gate/up (`model::stacked`) and q/k/v (`model::qkv`) weights by name, each filled
    /// by several tensors.
    stacked: HashMap<String, GpuWeight>,
    weight_bytes: u64,
    gguf_weight_bytes: u64,
    unflushed: u64,
}

/// Push-based model loader: `push` chunks in file order, then `finish`. A split model's files
/// (see `model::split`) go through one loader: `next_file` between them.
pub struct ModelLoader {
    ctx: Arc<GpuContext>,
    /// The file being read.
    reader: GgufReader,
    /// 0-based index of that file.
    file_index: u32,
    /// Whether its header has been handled (tensors allocated).
    header_done: bool,
    /// Bytes of the files before it.
    bytes_before: u64,
    /// The first file's split keys, once its header is known.
    split: Option<SplitInfo>,
    /// The first file's header, kept once the reader moved on to the next file.
    first: Option<GgufFile>,
    /// Tensors in the files so far, by ggml type id.
    tensor_types: BTreeMap<u32, u32>,
    state: Option<Receiving>,
    /// Tensor bytes that arrived in the same chunk as the end of a header, before the tensors
    /// could be allocated (at most one chunk).
    early: Vec<(usize, Vec<u8>)>,
}

impl ModelLoader {
    /// A loader for a model of one file of `file_len` bytes, or the first of a split model.
    pub fn new(ctx: Arc<GpuContext>, file_len: u64) -> Self {
        ModelLoader {
            ctx,
            reader: GgufReader::new(file_len),
            file_index: 0,
            header_done: false,
            bytes_before: 0,
            split: None,
            first: None,
            tensor_types: BTreeMap::new(),
            state: None,
            early: Vec::new(),
        }
    }

    /// Bytes consumed so far (all files).
    pub fn bytes_done(&self) -> u64 {
        self.bytes_before + self.reader.position()
    }

    /// The (first) file's parsed header, once complete.
    pub fn file(&self) -> Option<&GgufFile> {
        self.first.as_ref().or(self.reader.file())
    }

    /// Tensors of the files read so far, counted by ggml type id.
    pub fn tensor_types(&self) -> &BTreeMap<u32, u32> {
        &self.tensor_types
    }

    /// Feeds the next chunk of the current file.
    pub fn push(&mut self, chunk: &[u8]) -> Result<()> {
        let ctx = &self.ctx;
        let state = self.state.as_mut().filter(|_| self.header_done);
        let early = &mut self.early;
        let mut state = state;
        self.reader.push(chunk, &mut |piece: TensorBytes<'_>| match state.as_mut() {
            Some(s) => s.receive(ctx, piece.tensor, piece.bytes),
            None => {
                early.push((piece.tensor, piece.bytes.to_vec()));
                Ok(())
            }
        })?;
        if !self.header_done && self.reader.file().is_some() {
            self.start_file()?;
        }
        Ok(())
    }

    /// Ends the current file of a split model and starts the next, of `file_len` bytes.
    pub fn next_file(&mut self, file_len: u64) -> Result<()> {
        let reader = std::mem::replace(&mut self.reader, GgufReader::new(file_len));
        self.bytes_before += reader.position();
        let file = reader.finish()?;
        let count = self.split.map_or(1, |s| s.count);
        if self.file_index + 1 >= count {
            return Err(Error::InvalidArgument(format!(
                "the model has {count} file(s): there is no file {}",
                self.file_index + 2
            )));
        }
        if self.first.is_none() {
            self.first = Some(file);
        }
        if let Some(s) = self.state.as_mut() {
            s.end_file(&self.ctx)?;
        }
        self.file_index += 1;
        self.header_done = false;
        Ok(())
    }

    /// Ends the stream: checks that every file and tensor arrived whole and returns the model.
    pub fn finish(mut self) -> Result<Model> {
        let position = self.bytes_done();
        let last = self.reader.finish()?;
        let mut s = self.state.take().ok_or_else(|| Error::Truncated {
            offset: 0,
            what: "GGUF header".into(),
            len: last.file_len,
        })?;
        let split = self.split.unwrap_or(SplitInfo { no: 0, count: 1, tensors: 0 });
        if self.file_index + 1 < split.count {
            return Err(Error::Truncated {
                offset: position,
                what: format!("file {} of the {} files of a split model", self.file_index + 2, split.count),
                len: position,
            });
        }
        let seen: u64 = self.tensor_types.values().map(|&n| n as u64).sum();
        if split.count > 1 && seen != split.tensors {
            return Err(Error::InvalidModel(format!(
                "the split model's files hold {seen} tensors, split.tensors.count says {}",
                split.tensors
            )));
        }
        s.end_file(&self.ctx)?;
        s.done.extend(std::mem::take(&mut s.stacked));
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

    /// The current file's header is complete: check its split keys, allocate its tensors and
    /// pass on the bytes that came with the header's end.
    fn start_file(&mut self) -> Result<()> {
        let Some(file) = self.reader.file() else { return Ok(()) };
        let info = SplitInfo::of(file)?;
        match self.split {
            None => {
                if info.no != 0 {
                    return Err(Error::InvalidModel(format!(
                        "this is file {} of a split model of {}: start with the first",
                        info.no + 1,
                        info.count
                    )));
                }
                self.split = Some(info);
                self.state = Some(Receiving::start(file)?);
            }
            Some(first) => info.check_follows(&first, self.file_index)?,
        }
        for t in &file.tensors {
            *self.tensor_types.entry(t.type_id).or_default() += 1;
        }
        let last = self.file_index + 1 == info.count;
        let s = self.state.as_mut().expect("state is set with the first header");
        s.add_file(&self.ctx, file, last)?;
        self.header_done = true;
        for (tensor, bytes) in std::mem::take(&mut self.early) {
            s.receive(&self.ctx, tensor, &bytes)?;
        }
        Ok(())
    }
}

impl Receiving {
    /// Reads the model's description from the (first) file's header: hyper-parameters,
    /// tokenizer, chat template and the tensors the architecture needs.
    fn start(file: &GgufFile) -> Result<Self> {
        let tokenizer = Tokenizer::from_gguf(&file.metadata)?;
        // The embedding's rows are the vocabulary; in a split model it may come in a later
        // file, and then its shape is checked against the tokenizer's size when it arrives.
        let embd = file.tensor("token_embd.weight");
        let n_vocab = embd.map_or(tokenizer.vocab_size() as u64, |t| matrix_shape(t).0);
        let n_vocab = u32::try_from(n_vocab)
            .map_err(|_| Error::InvalidModel(format!("vocabulary of {n_vocab} tokens")))?;
        let hp = HParams::from_metadata(&file.metadata, n_vocab)?;
        if let Some(embd) = embd.filter(|_| tokenizer.vocab_size() != n_vocab as usize) {
            return Err(Error::InvalidModel(format!(
                "the tokenizer has {} tokens but token_embd.weight (tensor table entry at byte {}) has \
                 {n_vocab} rows",
                tokenizer.vocab_size(),
                embd.info_offset
            )));
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
            expected: expected_tensors(&hp),
            hp,
            tokenizer,
            chat_template,
            name,
            incoming: Vec::new(),
            allocated: HashSet::new(),
            done: HashMap::new(),
            stacked: HashMap::new(),
            weight_bytes: 0,
            gguf_weight_bytes: 0,
            unflushed: 0,
        })
    }

    /// Checks one file's tensor table against what the architecture needs and allocates the
    /// GPU weights of its tensors. After the `last` file, every required tensor must be there.
    fn add_file(&mut self, ctx: &GpuContext, file: &GgufFile, last: bool) -> Result<()> {
        for unsupported in ["rope_factors_long.weight", "rope_factors_short.weight"] {
            if file.tensor(unsupported).is_some() {
                return Err(Error::InvalidModel(format!(
                    "LongRoPE ({unsupported}, Phi-3 128k) is not supported yet"
                )));
            }
        }
        self.incoming = (0..file.tensors.len()).map(|_| None).collect();
        // Fused tensors the file has provide their parts; those are not looked up alone.
        for fused in fused_tensors(&self.hp) {
            let Some(i) = file.tensors.iter().position(|t| t.name == fused.name) else { continue };
            let t = &file.tensors[i];
            let rows: u64 = fused.parts.iter().map(|(_, r)| r).sum();
            let cols = self.expected.iter().find(|e| e.0 == fused.parts[0].0).map_or(0, |e| e.2);
            check_shape(t, &fused.name, rows, cols)?;
            let ty = QuantType::for_tensor(&fused.name, t.type_id)?;
            self.gguf_weight_bytes += t.n_bytes;
            let repacker = BlockRepacker::new(ty, rows, cols, MAX_PIECE)?;
            if let Some(il) = fused.gate_up_of.filter(|_| stacked::can_stack(rows / 2, ty, ty)) {
                let dest =
                    self.stack(ctx, il, ty, rows / 2, cols, &[&fused.parts[0].0, &fused.parts[1].0])?;
                self.incoming[i] = Some(Incoming::new(dest, repacker));
                continue;
            }
            let mut targets = Vec::new();
            for (name, _) in &fused.parts {
                self.claim(name)?;
            }
            match fused.qkv_of {
                // Already q | k | v rows: the stacked weight itself (`model::qkv`).
                Some(il) => {
                    let w = ctx.create_weight(&qkv::stacked_name(il, &qkv::PROJECTIONS), ty, rows, cols)?;
                    self.weight_bytes += w.gpu_bytes();
                    targets.push(w);
                }
                None => {
                    for (name, part_rows) in &fused.parts {
                        let w = ctx.create_weight(name, ty, *part_rows, cols)?;
                        self.weight_bytes += w.row_bytes * part_rows;
                        targets.push(w);
                    }
                }
            }
            self.incoming[i] = Some(Incoming::new(Dest::Rows(targets), repacker));
        }
        self.stack_gate_up(ctx, file)?;
        self.stack_qkv(ctx, file)?;
        for (i, t) in file.tensors.iter().enumerate() {
            if self.incoming[i].is_some() {
                continue; // fused
            }
            let Some((name, rows, cols, _)) = self.expected.iter().find(|e| e.0 == t.name) else {
                continue; // a tensor this architecture does not use
            };
            let (name, rows, cols) = (name.clone(), *rows, *cols);
            check_shape(t, &name, rows, cols)?;
            let ty = QuantType::for_tensor(&name, t.type_id)?;
            self.claim(&name)?;
            let weight = ctx.create_weight(&name, ty, rows, cols)?;
            self.weight_bytes += weight.row_bytes * rows;
            self.gguf_weight_bytes += t.n_bytes;
            let repacker = BlockRepacker::new(ty, rows, cols, MAX_PIECE)?;
            self.incoming[i] = Some(Incoming::new(Dest::Rows(vec![weight]), repacker));
        }
        if !last {
            return Ok(());
        }
        if let Some((name, ..)) = self.expected.iter().find(|e| e.3 && !self.allocated.contains(&e.0)) {
            return Err(Error::InvalidModel(format!("missing tensor {name}")));
        }
        // RoPE frequency divisors: the file's (Llama 3.1+), else ones, so one kernel serves all.
        if !self.allocated.contains(ROPE_FACTORS) {
            let half = self.hp.head_dim as u64 / 2;
            let ones = ctx.create_weight(ROPE_FACTORS, QuantType::F32, 1, half)?;
            ctx.write_weight(&ones, 0, bytemuck::cast_slice(&vec![1.0f32; half as usize]))?;
            self.weight_bytes += ones.row_bytes;
            self.done.insert(ROPE_FACTORS.to_string(), ones);
        }
        Ok(())
    }

    /// Stacks each layer's `ffn_gate` and `ffn_up` found in this file (both, of one block type)
    /// into one weight (`model::stacked`).
    fn stack_gate_up(&mut self, ctx: &GpuContext, file: &GgufFile) -> Result<()> {
        let (ff, e) = (self.hp.n_ff as u64, self.hp.n_embd as u64);
        for il in 0..self.hp.n_layer {
            let names = [format!("blk.{il}.ffn_gate.weight"), format!("blk.{il}.ffn_up.weight")];
            let find = |name: &str| file.tensors.iter().position(|t| t.name == name);
            let (Some(gi), Some(ui)) = (find(&names[0]), find(&names[1])) else { continue };
            let (g, u) = (&file.tensors[gi], &file.tensors[ui]);
            if self.incoming[gi].is_some() || self.incoming[ui].is_some() || g.type_id != u.type_id {
                continue;
            }
            check_shape(g, &names[0], ff, e)?;
            check_shape(u, &names[1], ff, e)?;
            let ty = QuantType::for_tensor(&names[0], g.type_id)?;
            if !stacked::can_stack(ff, ty, ty) {
                continue;
            }
            self.gguf_weight_bytes += g.n_bytes + u.n_bytes;
            let gate = self.stack(ctx, il, ty, ff, e, &[&names[0], &names[1]])?;
            let Dest::Stacked { name, .. } = &gate else { unreachable!("stack returns a stacked dest") };
            let up = Dest::Stacked { name: name.clone(), first_half: 1 };
            self.incoming[gi] = Some(Incoming::new(gate, BlockRepacker::new(ty, ff, e, MAX_PIECE)?));
            self.incoming[ui] = Some(Incoming::new(up, BlockRepacker::new(ty, ff, e, MAX_PIECE)?));
        }
        Ok(())
    }

    /// Stacks each layer's q, k and v projections found in this file into as few weights as
    /// their block types allow (`model::qkv`): each run of two or three of one type becomes one
    /// weight, its tensors' rows concatenated.
    fn stack_qkv(&mut self, ctx: &GpuContext, file: &GgufFile) -> Result<()> {
        let (rows, e) = (qkv::rows(&self.hp), self.hp.n_embd as u64);
        for il in 0..self.hp.n_layer {
            let names = qkv::PROJECTIONS.map(|p| qkv::tensor_name(il, p));
            let found = names.clone().map(|n| file.tensors.iter().position(|t| t.name == n));
            let [Some(qi), Some(ki), Some(vi)] = found else { continue };
            let index = [qi, ki, vi];
            if index.iter().any(|&i| self.incoming[i].is_some()) {
                continue; // fused
            }
            for p in 0..3 {
                check_shape(&file.tensors[index[p]], &names[p], rows[p], e)?;
            }
            let mut types = [QuantType::F32; 3];
            for p in 0..3 {
                types[p] = QuantType::for_tensor(&names[p], file.tensors[index[p]].type_id)?;
            }
            for (run, ty) in qkv::stacks(types).into_iter().filter(|(run, _)| run.len() > 1) {
                let members: Vec<&str> = run.iter().map(|&p| qkv::PROJECTIONS[p]).collect();
                let total: u64 = run.iter().map(|&p| rows[p]).sum();
                let w = ctx.create_weight(&qkv::stacked_name(il, &members), ty, total, e)?;
                self.weight_bytes += w.gpu_bytes();
                let mut row0 = 0;
                for &p in &run {
                    self.claim(&names[p])?;
                    let t = &file.tensors[index[p]];
                    self.gguf_weight_bytes += t.n_bytes;
                    let dest = Dest::Concat { name: w.name.clone(), row0 };
                    let mut incoming = Incoming::new(dest, BlockRepacker::new(ty, rows[p], e, MAX_PIECE)?);
                    if types[p] != ty {
                        incoming.widen = Some((Widener::new(types[p], ty)?, Vec::new()));
                    }
                    self.incoming[index[p]] = Some(incoming);
                    row0 += rows[p];
                }
                self.stacked.insert(w.name.clone(), w);
            }
        }
        Ok(())
    }

    /// Claims the tensors `parts` (gate, up) and allocates layer `il`'s stacked weight; returns
    /// the destination of bytes that start with the gate half.
    fn stack(
        &mut self,
        ctx: &GpuContext,
        il: u32,
        ty: QuantType,
        n_ff: u64,
        cols: u64,
        parts: &[&String; 2],
    ) -> Result<Dest> {
        for name in parts {
            self.claim(name)?;
        }
        let w = stacked::create(ctx, il, ty, n_ff, cols)?;
        self.weight_bytes += w.gpu_bytes();
        let name = w.name.clone();
        self.stacked.insert(name.clone(), w);
        Ok(Dest::Stacked { name, first_half: 0 })
    }

    /// Records that the file provides tensor `name`; a second provider is an error.
    fn claim(&mut self, name: &str) -> Result<()> {
        if !self.allocated.insert(name.to_string()) {
            return Err(Error::InvalidModel(format!("tensor {name} appears twice")));
        }
        Ok(())
    }

    /// The current file ended: flushes each tensor's last partial piece and keeps its weights.
    fn end_file(&mut self, ctx: &GpuContext) -> Result<()> {
        for Incoming { dest, repacker, .. } in std::mem::take(&mut self.incoming).into_iter().flatten() {
            let stacked = &self.stacked;
            repacker.finish(&mut |off, bytes| dest.write(ctx, stacked, off, bytes))?;
            if let Dest::Rows(targets) = dest {
                for w in targets {
                    self.done.insert(w.name.clone(), w);
                }
            }
        }
        Ok(())
    }

    /// Repacks and uploads one piece of tensor `index`'s data.
    fn receive(&mut self, ctx: &GpuContext, index: usize, bytes: &[u8]) -> Result<()> {
        let Some(Some(inc)) = self.incoming.get_mut(index) else {
            return Ok(()); // a tensor this architecture does not use
        };
        let (dest, stacked) = (&inc.dest, &self.stacked);
        let bytes = match &mut inc.widen {
            Some((widener, scratch)) => {
                scratch.clear();
                widener.push(bytes, scratch);
                &scratch[..]
            }
            None => bytes,
        };
        inc.repacker.push(bytes, &mut |off, data| dest.write(ctx, stacked, off, data))?;
        self.unflushed += bytes.len() as u64;
        if self.unflushed >= FLUSH_EVERY {
            ctx.queue.submit([]);
            self.unflushed = 0;
        }
        Ok(())
    }
}

/// Checks that a weight tensor is a `rows` × `cols` matrix (or vector).
fn check_shape(t: &TensorInfo, name: &str, rows: u64, cols: u64) -> Result<()> {
    if matrix_shape(t) != (rows, cols) || t.dims.len() > 2 {
        return Err(Error::InvalidModel(format!(
            "tensor {name} (tensor table entry at byte {}) has dims {:?}, expected [{cols}, {rows}]",
            t.info_offset, t.dims
        )));
    }
    Ok(())
}
