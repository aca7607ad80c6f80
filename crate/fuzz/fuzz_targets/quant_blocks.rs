//! Every block format brasa supports: CPU dequantization of arbitrary bytes (any length), the
//! one-shot and the streamed (row-aware, random chunks) repack into the GPU layout, and reading
//! the GPU layout back.
//!
//! Checks, besides "no panic, no hang, no unbounded allocation":
//! - wrong lengths are typed errors, right ones succeed;
//! - dequantizing the GPU layout gives bit for bit what dequantizing the file gives (whole
//!   units, and whole tensors with odd rows through the streaming repacker);
//! - the streamed repacker's pieces are in order, word-aligned, and add up to its `gpu_len`;
//!   bytes past the tensor's end are refused.
#![no_main]

use arbitrary::Arbitrary;
use brasa::quant::{dequantize, dequantize_gpu_block, dequantize_gpu_rows, repack, BlockRepacker, QuantType};
use brasa_fuzz::Chunks;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    ty: u8,
    /// Tensor shape for the streamed repack: rows, and columns in blocks.
    rows: u8,
    col_blocks: u8,
    chunk_seed: u64,
    max_piece: u16,
    /// Arbitrary arguments for the constructors and readers, which must refuse bad ones.
    wild_rows: u64,
    wild_cols: u64,
    bytes: &'a [u8],
}

fuzz_target!(|input: Input<'_>| {
    let ty = QuantType::ALL[input.ty as usize % QuantType::ALL.len()];
    dequantize_any_length(ty, input.bytes);
    repack_round_trip(ty, input.bytes);
    streamed_round_trip(ty, &input);
    wild_arguments(ty, &input);
});

/// `dequantize` accepts exactly whole blocks with an output of their size.
fn dequantize_any_length(ty: QuantType, bytes: &[u8]) {
    let whole = bytes.len() % ty.block_bytes() == 0;
    let elems = bytes.len() / ty.block_bytes() * ty.block_elems();
    let mut out = vec![0f32; elems];
    let r = dequantize(ty, bytes, &mut out);
    assert_eq!(r.is_ok(), whole, "{ty:?} {} bytes: {r:?}", bytes.len());
    if let Err(e) = r {
        assert_eq!(e.code(), "invalid_argument");
    }
    let mut short = vec![0f32; elems.saturating_sub(1)];
    if elems > 0 {
        assert!(dequantize(ty, bytes, &mut short).is_err(), "{ty:?}: a short output was accepted");
    }
}

/// One-shot repack of whole GPU units, read back: bit-equal to the file's dequantization.
fn repack_round_trip(ty: QuantType, bytes: &[u8]) {
    let unit = ty.block_bytes() * ty.gpu_block_elems() / ty.block_elems();
    let mut gpu = Vec::new();
    let r = repack(ty, bytes, &mut gpu);
    assert_eq!(r.is_ok(), bytes.len() % unit == 0, "{ty:?} repack of {} bytes: {r:?}", bytes.len());
    if r.is_err() {
        return;
    }
    assert_eq!(gpu.len(), bytes.len() / unit * ty.gpu_block_bytes());
    let n = bytes.len() / ty.block_bytes() * ty.block_elems();
    let (mut want, mut got) = (vec![0f32; n], vec![0f32; n]);
    dequantize(ty, bytes, &mut want).expect("dequantize whole units");
    dequantize_gpu_block(ty, &gpu, &mut got).expect("dequantize GPU units");
    assert_bits_eq(ty, &want, &got);
}

/// A `rows × cols` tensor streamed through `BlockRepacker` in random chunks, read back with
/// `dequantize_gpu_rows`: bit-equal to the file's dequantization, odd rows included.
fn streamed_round_trip(ty: QuantType, input: &Input<'_>) {
    let rows = u64::from(input.rows % 8) + 1;
    let cols = (u64::from(input.col_blocks % 8) + 1) * ty.block_elems() as u64;
    let file_len = (rows * ty.row_bytes(cols).expect("whole blocks")) as usize;
    // The tensor's bytes: the input repeated (or zeros when it is empty).
    let file: Vec<u8> = if input.bytes.is_empty() {
        vec![0; file_len]
    } else {
        input.bytes.iter().copied().cycle().take(file_len).collect()
    };
    let max_piece = usize::from(input.max_piece).max(4);
    let mut repacker = BlockRepacker::new(ty, rows, cols, max_piece).expect("a small tensor");
    let gpu_len = repacker.gpu_len();
    assert_eq!(gpu_len, rows * ty.gpu_row_bytes(cols));
    let mut gpu = Vec::new();
    let mut collect = |at: u64, piece: &[u8]| {
        assert_eq!(at, gpu.len() as u64, "{ty:?}: pieces out of order");
        assert!(at % 4 == 0 && piece.len() % 4 == 0 && piece.len() <= max_piece, "{ty:?}: piece misaligned");
        gpu.extend_from_slice(piece);
        Ok(())
    };
    let mut chunks = Chunks::new(input.chunk_seed);
    for chunk in chunks.split(&file) {
        repacker.push(chunk, &mut collect).expect("push inside the tensor");
    }
    let past_end = repacker.push(&[0], &mut collect);
    assert_eq!(
        past_end.map_err(|e| e.code()),
        Err("invalid_argument"),
        "{ty:?}: a byte past the end was taken"
    );
    repacker.finish(&mut collect).expect("finish a whole tensor");
    assert_eq!(gpu.len() as u64, gpu_len, "{ty:?}: the pieces do not add up to gpu_len");

    let n = (rows * cols) as usize;
    let (mut want, mut got) = (vec![0f32; n], vec![0f32; n]);
    dequantize(ty, &file, &mut want).expect("dequantize the file");
    dequantize_gpu_rows(ty, cols, &gpu, &mut got).expect("dequantize the GPU rows");
    assert_bits_eq(ty, &want, &got);
}

/// Constructors and readers given arbitrary sizes: a typed error or a result, no panic, no
/// allocation the arguments cannot justify.
fn wild_arguments(ty: QuantType, input: &Input<'_>) {
    let (rows, cols) = (input.wild_rows, input.wild_cols);
    if let Ok(mut r) = BlockRepacker::new(ty, rows, cols, usize::from(input.max_piece)) {
        let take = input.bytes.len().min(r.gpu_len() as usize);
        let _ = r.push(&input.bytes[..take], &mut |_, _| Ok(()));
        let _ = r.finish(&mut |_, _| Ok(()));
    }
    let _ = ty.gpu_row_bytes(cols);
    let _ = ty.row_bytes(cols);
    // Output sized by what the bytes could hold, never by the wild `cols` alone.
    let mut out = vec![0f32; input.bytes.len() * 2];
    for cols in [cols, cols % 4096] {
        let _ = dequantize_gpu_rows(ty, cols, input.bytes, &mut out);
        let _ = dequantize_gpu_rows(ty, cols, input.bytes, &mut []);
    }
}

fn assert_bits_eq(ty: QuantType, want: &[f32], got: &[f32]) {
    assert_eq!(want.len(), got.len());
    for (i, (w, g)) in want.iter().zip(got).enumerate() {
        assert_eq!(w.to_bits(), g.to_bits(), "{ty:?} element {i}: file {w} vs GPU layout {g}");
    }
}
