//! Where a block's fields sit in its two layouts: the file's (as ggml writes it) and the GPU's
//! (f16 header first, every later field 4-byte aligned, size a multiple of 4).
//!
//! Each format module lists its fields as [`Field`]s. Repacking copies every field from its file
//! offset to its GPU offset over a zeroed GPU block; dequantization reads the fields at the
//! offsets of whichever layout it is given, so one dequantizer per format serves both layouts.

/// Which of a block's two layouts a byte slice is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    File,
    Gpu,
}

/// One field of a block: its byte offset in the file block, in the GPU block, and its length.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Field {
    pub file: usize,
    pub gpu: usize,
    pub len: usize,
}

impl Field {
    pub const fn new(file: usize, gpu: usize, len: usize) -> Self {
        Field { file, gpu, len }
    }

    /// The field's bytes in `block`, which must be a whole block of `layout` (callers slice
    /// blocks with `chunks_exact`, so the range is always inside).
    pub fn get<'a>(&self, block: &'a [u8], layout: Layout) -> &'a [u8] {
        let at = match layout {
            Layout::File => self.file,
            Layout::Gpu => self.gpu,
        };
        &block[at..at + self.len]
    }

    /// The field read as one little-endian f16, widened to f32 (exact).
    pub fn f16(&self, block: &[u8], layout: Layout) -> f32 {
        let b = self.get(block, layout);
        f16_to_f32([b[0], b[1]])
    }
}

/// A little-endian f16 as f32. Every f16 (subnormals, infinities, NaN) is exactly representable.
pub(crate) fn f16_to_f32(b: [u8; 2]) -> f32 {
    half::f16::from_le_bytes(b).to_f32()
}

/// Repack one file block into one GPU block: zero the GPU block (its padding), then copy each
/// field to its GPU offset.
pub(crate) fn repack_fields(fields: &[Field], file: &[u8], gpu: &mut [u8]) {
    gpu.fill(0);
    for f in fields {
        gpu[f.gpu..f.gpu + f.len].copy_from_slice(&file[f.file..f.file + f.len]);
    }
}

/// Where field `f` of block `j` (0 or 1) of a pair sits in the paired GPU layout: the `d` field
/// (GPU offset 0 in a single block) at `2j`, the body fields at their single-block offset plus
/// `j` bodies (a body is the `block_bytes - 2` bytes after `d`).
pub(crate) fn pair_offset(f: &Field, j: usize, block_bytes: usize) -> usize {
    if f.gpu == 0 {
        2 * j
    } else {
        f.gpu + j * (block_bytes - 2)
    }
}

/// Repack one or two file blocks (`file.len()` is 1 or 2 × `block_bytes`) into a pair, or the
/// single block that ends an odd row: zero `gpu`, then copy each block's fields.
pub(crate) fn repack_pair(fields: &[Field], block_bytes: usize, file: &[u8], gpu: &mut [u8]) {
    gpu.fill(0);
    for (j, block) in file.chunks_exact(block_bytes).enumerate() {
        for f in fields {
            let at = pair_offset(f, j, block_bytes);
            gpu[at..at + f.len].copy_from_slice(&block[f.file..f.file + f.len]);
        }
    }
}

/// Block `j` of a pair (or single block) `gpu`, rewritten as a single GPU block into `single`
/// (`block_bytes + 2` bytes), which the format's dequantizer reads with [`Layout::Gpu`].
pub(crate) fn unpair(fields: &[Field], block_bytes: usize, gpu: &[u8], j: usize, single: &mut [u8]) {
    single.fill(0);
    for f in fields {
        let at = pair_offset(f, j, block_bytes);
        single[f.gpu..f.gpu + f.len].copy_from_slice(&gpu[at..at + f.len]);
    }
}
