//! Repacking file blocks into the GPU layout (see each format module for the offsets), in one
//! shot ([`repack`]) or streamed row-aware over one tensor ([`BlockRepacker`]).

use super::layout::{repack_fields, repack_pair};
use super::{pair_fields, q2_k, q4_1, q4_k, q5_1, q5_k, QuantType};
use crate::error::{Error, Result};

/// File bytes that make up one GPU unit (for F16 and BF16 two halves, for the paired types two
/// blocks, for the rest one block).
fn file_bytes_per_gpu_block(ty: QuantType) -> usize {
    ty.block_bytes() * ty.gpu_block_elems() / ty.block_elems()
}

/// GPU bytes made of `file_len` file bytes: a whole unit, or at the end of a row the short unit
/// (an F16/BF16 half padded to a whole unit, a paired type's single block).
fn gpu_bytes_of(ty: QuantType, file_len: usize) -> usize {
    if ty.paired() && file_len < file_bytes_per_gpu_block(ty) {
        ty.gpu_single_bytes()
    } else {
        ty.gpu_block_bytes()
    }
}

/// Repack whole GPU units of file bytes into GPU units appended to `dst`. For F16 and BF16 `src`
/// must hold an even number of halves and for the paired types an even number of blocks (rows
/// that end mid-unit go through [`BlockRepacker`], which knows the rows).
pub fn repack(ty: QuantType, src: &[u8], dst: &mut Vec<u8>) -> Result<()> {
    let unit = file_bytes_per_gpu_block(ty);
    if !src.len().is_multiple_of(unit) {
        return Err(Error::InvalidArgument(format!(
            "{} repack: {} bytes is not a whole number of {unit}-byte units",
            ty.name(),
            src.len()
        )));
    }
    let gpu_bytes = ty.gpu_block_bytes();
    let start = dst.len();
    dst.resize(start + src.len() / unit * gpu_bytes, 0);
    for (file, gpu) in src.chunks_exact(unit).zip(dst[start..].chunks_exact_mut(gpu_bytes)) {
        repack_block(ty, file, gpu);
    }
    Ok(())
}

/// Repack one GPU unit's worth of file bytes into `gpu` (sized by [`gpu_bytes_of`]). `file` is
/// one file unit, or at the end of a row a single F16/BF16 half (which gets a zero half after
/// it) or a paired type's single block.
fn repack_block(ty: QuantType, file: &[u8], gpu: &mut [u8]) {
    if let Some(fields) = pair_fields(ty) {
        return repack_pair(fields, ty.block_bytes(), file, gpu);
    }
    match ty {
        QuantType::F32 | QuantType::F16 | QuantType::BF16 => {
            gpu[..file.len()].copy_from_slice(file);
            gpu[file.len()..].fill(0);
        }
        QuantType::Q4_1 => repack_fields(q4_1::FIELDS, file, gpu),
        QuantType::Q5_1 => repack_fields(q5_1::FIELDS, file, gpu),
        QuantType::Q2_K => repack_fields(q2_k::FIELDS, file, gpu),
        QuantType::Q4_K => repack_fields(q4_k::FIELDS, file, gpu),
        QuantType::Q5_K => repack_fields(q5_k::FIELDS, file, gpu),
        QuantType::Q4_0 | QuantType::Q5_0 | QuantType::Q8_0 | QuantType::Q3_K | QuantType::Q6_K => {
            unreachable!("paired types are handled above")
        }
    }
}

/// Streaming, row-aware repacker for one tensor of `rows × cols` elements.
///
/// Push the tensor's file bytes in any chunking (a piece may end mid-block: the partial block is
/// kept as carry); GPU-layout bytes come out through `out(gpu_offset_in_tensor, bytes)` in order,
/// in pieces of at most `max_piece` bytes (rounded down to a multiple of 4), each offset and
/// length a multiple of 4. The GPU tensor is `rows × ty.gpu_row_bytes(cols)` bytes: for F16 and
/// BF16 rows of odd length, each row gets a zero half at its end; for the paired types, rows with
/// an odd number of blocks end with a single block.
pub struct BlockRepacker {
    ty: QuantType,
    cols: u64,
    max_piece: usize,
    /// File bytes of the whole tensor, and how many were pushed so far.
    total_in: u64,
    pushed: u64,
    /// Bytes of the whole tensor in the GPU layout.
    gpu_len: u64,
    /// Column (element index in its row) where the next GPU block starts.
    col: u64,
    /// The start of a GPU block's file bytes that a piece ended in the middle of.
    carry: Vec<u8>,
    /// Converted GPU bytes not emitted yet (< `max_piece` between calls) and the tensor offset
    /// of their first byte.
    pending: Vec<u8>,
    pending_at: u64,
}

impl BlockRepacker {
    /// A repacker for a `rows × cols` tensor of `ty`. Errors if `cols` is not a whole number of
    /// blocks ([`Error::InvalidModel`]), the size overflows, or `max_piece < 4`
    /// ([`Error::InvalidArgument`]).
    pub fn new(ty: QuantType, rows: u64, cols: u64, max_piece: usize) -> Result<Self> {
        let row_bytes = ty.row_bytes(cols)?;
        let too_big =
            || Error::InvalidArgument(format!("{} tensor of {rows} × {cols} is too big", ty.name()));
        let total_in = rows.checked_mul(row_bytes).ok_or_else(too_big)?;
        let gpu_len = rows
            .checked_mul(ty.gpu_row_bytes(cols))
            .filter(|&n| n < u64::MAX) // gpu_row_bytes saturates
            .ok_or_else(too_big)?;
        let max_piece = max_piece / 4 * 4;
        if max_piece == 0 {
            return Err(Error::InvalidArgument("repack max_piece must be at least 4".into()));
        }
        Ok(BlockRepacker {
            ty,
            cols,
            max_piece,
            total_in,
            gpu_len,
            pushed: 0,
            col: 0,
            // Allocated as bytes arrive and freed when the last one has (see `push`): a loader
            // holds a repacker for every tensor of a model at once.
            carry: Vec::new(),
            pending: Vec::new(),
            pending_at: 0,
        })
    }

    /// Bytes of the whole tensor in the GPU layout.
    pub fn gpu_len(&self) -> u64 {
        self.gpu_len
    }

    /// Push the next file bytes. Errors (consuming nothing) if they go past the tensor's end;
    /// passes on any error `out` returns (the repacker is then mid-tensor: drop it).
    pub fn push(&mut self, bytes: &[u8], out: &mut dyn FnMut(u64, &[u8]) -> Result<()>) -> Result<()> {
        let left = self.total_in - self.pushed;
        if bytes.len() as u64 > left {
            return Err(Error::InvalidArgument(format!(
                "{} tensor: {} bytes pushed past its end ({left} were left of {})",
                self.ty.name(),
                bytes.len(),
                self.total_in
            )));
        }
        self.pushed += bytes.len() as u64;
        let mut input = bytes;
        while !input.is_empty() {
            let need = self.next_unit_bytes();
            if self.carry.is_empty() && input.len() >= need {
                let n = self.copy_run(input);
                if n > 0 {
                    input = &input[n..];
                } else {
                    self.convert(&input[..need]);
                    input = &input[need..];
                }
            } else {
                let take = (need - self.carry.len()).min(input.len());
                self.carry.extend_from_slice(&input[..take]);
                input = &input[take..];
                if self.carry.len() < need {
                    break; // input used up mid-block: keep the carry for the next push
                }
                let unit = std::mem::take(&mut self.carry);
                self.convert(&unit);
                self.carry = unit;
                self.carry.clear();
            }
            self.emit(false, out)?;
        }
        if self.pushed == self.total_in && self.carry.is_empty() {
            // The whole tensor is in: send the rest now and give the memory back.
            self.emit(true, out)?;
            self.pending = Vec::new();
            self.carry = Vec::new();
        }
        Ok(())
    }

    /// Emit what is left. Errors if fewer bytes than the tensor holds were pushed.
    pub fn finish(mut self, out: &mut dyn FnMut(u64, &[u8]) -> Result<()>) -> Result<()> {
        if self.pushed != self.total_in {
            return Err(Error::InvalidArgument(format!(
                "{} tensor: {} of its {} bytes were pushed",
                self.ty.name(),
                self.pushed,
                self.total_in
            )));
        }
        self.emit(true, out)
    }

    /// File bytes of the GPU unit starting at `self.col`: a whole unit, except a single half at
    /// the end of an odd F16 or BF16 row and a single block at the end of an odd paired row.
    fn next_unit_bytes(&self) -> usize {
        let elems = (self.ty.gpu_block_elems() as u64).min(self.cols - self.col);
        elems as usize / self.ty.block_elems() * self.ty.block_bytes()
    }

    /// F32, F16 and BF16 GPU blocks are their file bytes as they are (bar the pad of an odd row),
    /// so copy as many whole ones as `input` holds before the row's end in one go, up to what
    /// fits in a piece. Returns the bytes consumed (0 for the other types).
    fn copy_run(&mut self, input: &[u8]) -> usize {
        if !matches!(self.ty, QuantType::F32 | QuantType::F16 | QuantType::BF16) {
            return 0;
        }
        let unit = file_bytes_per_gpu_block(self.ty); // 4 bytes, also in the GPU layout
        let elems = self.ty.gpu_block_elems() as u64;
        let whole_in_row = (self.cols - self.col) / elems;
        let room = (self.max_piece.saturating_sub(self.pending.len()) / unit).max(1);
        let n = ((input.len() / unit) as u64).min(whole_in_row).min(room as u64) as usize;
        self.pending.extend_from_slice(&input[..n * unit]);
        self.col += n as u64 * elems;
        if self.col >= self.cols {
            self.col = 0;
        }
        n * unit
    }

    /// Repack one GPU unit's file bytes onto `pending` and advance the column.
    fn convert(&mut self, file: &[u8]) {
        let at = self.pending.len();
        self.pending.resize(at + gpu_bytes_of(self.ty, file.len()), 0);
        repack_block(self.ty, file, &mut self.pending[at..]);
        self.col += (file.len() / self.ty.block_bytes() * self.ty.block_elems()) as u64;
        if self.col >= self.cols {
            self.col = 0;
        }
    }

    /// Emit whole `max_piece` pieces of `pending` (and, if `all`, the rest too).
    fn emit(&mut self, all: bool, out: &mut dyn FnMut(u64, &[u8]) -> Result<()>) -> Result<()> {
        let mut start = 0;
        while self.pending.len() - start >= self.max_piece {
            out(self.pending_at, &self.pending[start..start + self.max_piece])?;
            self.pending_at += self.max_piece as u64;
            start += self.max_piece;
        }
        if all && start < self.pending.len() {
            out(self.pending_at, &self.pending[start..])?;
            self.pending_at += (self.pending.len() - start) as u64;
            start = self.pending.len();
        }
        if start > 0 {
            self.pending.copy_within(start.., 0);
            self.pending.truncate(self.pending.len() - start);
        }
        Ok(())
    }
}
