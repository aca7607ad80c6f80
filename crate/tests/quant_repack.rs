//! The GPU layout and the repackers: field placement against the layout table (written out here
//! from the spec, independently of the format modules), the dequantize round trip through the
//! GPU layout, the streaming repacker under arbitrary chunkings and piece sizes, and errors.

use brasa::quant::{dequantize, dequantize_gpu_block, dequantize_gpu_rows, repack, BlockRepacker, QuantType};
use brasa::Result;

/// splitmix64: a small deterministic generator, so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    /// A finite f16 of moderate magnitude (about 1e-4 .. 2), either sign.
    fn sane_f16(&mut self) -> [u8; 2] {
        let exp = 4 + self.below(12) as u16; // biased exponent 4..15
        let bits = (self.next() as u16 & 0x83ff) | exp << 10;
        bits.to_le_bytes()
    }
}

/// The spec's table: (file offset, GPU offset, length) of every field of one GPU unit (for the
/// paired types, two file blocks and their pair); everything else in the GPU unit is zero.
fn spec_fields(ty: QuantType) -> Vec<(usize, usize, usize)> {
    match ty {
        QuantType::F32 => vec![(0, 0, 4)],
        QuantType::F16 | QuantType::BF16 => vec![(0, 0, 4)], // two halves as they are
        // Pairs: d0, d1 in word 0, then block 0's body, then block 1's.
        QuantType::Q4_0 => vec![(0, 0, 2), (18, 2, 2), (2, 4, 16), (20, 20, 16)],
        QuantType::Q4_1 => vec![(0, 0, 20)],
        QuantType::Q5_0 => vec![(0, 0, 2), (22, 2, 2), (2, 4, 4), (6, 8, 16), (24, 24, 4), (28, 28, 16)],
        QuantType::Q5_1 => vec![(0, 0, 24)],
        QuantType::Q8_0 => vec![(0, 0, 2), (34, 2, 2), (2, 4, 32), (36, 36, 32)],
        // d and dmin first, then scales and qs.
        QuantType::Q2_K => vec![(80, 0, 4), (0, 4, 16), (16, 20, 64)],
        // Pairs of d; bodies of hmask, qs, scales.
        QuantType::Q3_K => vec![
            (108, 0, 2),
            (218, 2, 2),
            (0, 4, 32),
            (32, 36, 64),
            (96, 100, 12),
            (110, 112, 32),
            (142, 144, 64),
            (206, 208, 12),
        ],
        QuantType::Q4_K => vec![(0, 0, 144)],
        QuantType::Q5_K => vec![(0, 0, 176)],
        // Pairs of d; bodies of ql, qh, scales.
        QuantType::Q6_K => vec![
            (208, 0, 2),
            (418, 2, 2),
            (0, 4, 128),
            (128, 132, 64),
            (192, 196, 16),
            (210, 212, 128),
            (338, 340, 64),
            (402, 404, 16),
        ],
    }
}

/// The types whose GPU layout pairs blocks, per the spec.
fn spec_paired(ty: QuantType) -> bool {
    matches!(ty, QuantType::Q4_0 | QuantType::Q5_0 | QuantType::Q8_0 | QuantType::Q3_K | QuantType::Q6_K)
}

/// Offsets of the f16 scales in a file block (set to sane values so no block dequantizes to NaN).
fn f16_offsets(ty: QuantType) -> Vec<usize> {
    match ty {
        QuantType::F32 => vec![],
        QuantType::F16 => vec![0],
        QuantType::BF16 => vec![], // made finite below
        QuantType::Q4_0 | QuantType::Q5_0 | QuantType::Q8_0 => vec![0],
        QuantType::Q4_1 | QuantType::Q5_1 | QuantType::Q4_K | QuantType::Q5_K => vec![0, 2],
        QuantType::Q2_K => vec![80, 82],
        QuantType::Q3_K => vec![108],
        QuantType::Q6_K => vec![208],
    }
}

/// `n_blocks` random file blocks with finite scales.
fn random_blocks(rng: &mut Rng, ty: QuantType, n_blocks: usize) -> Vec<u8> {
    let mut raw = rng.bytes(n_blocks * ty.block_bytes());
    for block in raw.chunks_exact_mut(ty.block_bytes()) {
        if ty == QuantType::F32 {
            let v = (rng.next() as i32 as f32) / 1e6;
            block.copy_from_slice(&v.to_le_bytes());
        }
        if ty == QuantType::BF16 {
            let v = (rng.next() as i32 as f32) / 1e6;
            block.copy_from_slice(&v.to_bits().to_le_bytes()[2..]);
        }
        for at in f16_offsets(ty) {
            block[at..at + 2].copy_from_slice(&rng.sane_f16());
        }
    }
    raw
}

fn bit_eq(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

#[test]
fn gpu_blocks_follow_the_layout_table() {
    let mut rng = Rng(1);
    for ty in QuantType::ALL {
        let n = 3;
        let file = rng.bytes(n * ty.block_bytes() * ty.gpu_block_elems());
        let mut gpu = Vec::new();
        repack(ty, &file, &mut gpu).unwrap();
        let units = file.len() / (ty.block_bytes() * ty.gpu_block_elems() / ty.block_elems());
        assert_eq!(gpu.len(), units * ty.gpu_block_bytes(), "{ty:?}");
        let fb = ty.block_bytes() * ty.gpu_block_elems() / ty.block_elems();
        for (f, g) in file.chunks_exact(fb).zip(gpu.chunks_exact(ty.gpu_block_bytes())) {
            let mut covered = vec![false; g.len()];
            for (fo, go, len) in spec_fields(ty) {
                assert_eq!(&g[go..go + len], &f[fo..fo + len], "{ty:?} field at GPU {go}");
                covered[go..go + len].iter_mut().for_each(|c| *c = true);
            }
            for (i, c) in covered.iter().enumerate() {
                assert!(*c || g[i] == 0, "{ty:?}: pad byte {i} is {}", g[i]);
            }
        }
    }
}

#[test]
fn gpu_layout_round_trip_every_type() {
    let mut rng = Rng(2);
    for ty in QuantType::ALL {
        let n_blocks = 2 * (1 + rng.below(20)); // even, so F16/BF16 and pairs are whole GPU units
        let file = random_blocks(&mut rng, ty, n_blocks);
        let mut want = vec![0.0; n_blocks * ty.block_elems()];
        dequantize(ty, &file, &mut want).unwrap();
        assert!(want.iter().all(|v| v.is_finite()), "{ty:?}");
        let mut gpu = vec![0xaa]; // repack appends
        repack(ty, &file, &mut gpu).unwrap();
        let mut got = vec![f32::NAN; want.len()];
        dequantize_gpu_block(ty, &gpu[1..], &mut got).unwrap();
        assert!(bit_eq(&got, &want), "{ty:?}: GPU layout dequantizes differently");
    }
}

/// The expected GPU tensor: one-shot repack per row, except at the end of a row that is not a
/// whole number of units, which the spec defines as: for F16/BF16, the last half followed by one
/// zero half; for the paired types, a single block laid out as the first block of a pair whose
/// second block is missing (its `d` half zero), i.e. the pair cut after the first body.
fn expected_gpu(ty: QuantType, file: &[u8], rows: u64, cols: u64) -> Vec<u8> {
    assert_eq!(spec_paired(ty), ty.paired(), "{ty:?}");
    let row_bytes = ty.row_bytes(cols).unwrap() as usize;
    let unit = ty.block_bytes() * ty.gpu_block_elems() / ty.block_elems();
    let mut out = Vec::new();
    for r in 0..rows as usize {
        let row = &file[r * row_bytes..(r + 1) * row_bytes];
        let whole = row.len() / unit * unit;
        repack(ty, &row[..whole], &mut out).unwrap();
        let tail = &row[whole..];
        if tail.is_empty() {
            continue;
        }
        if ty.gpu_block_elems() == 2 {
            out.extend_from_slice(tail);
            out.extend_from_slice(&[0, 0]);
        } else {
            assert!(spec_paired(ty) && tail.len() == ty.block_bytes(), "{ty:?}");
            let mut padded = tail.to_vec();
            padded.resize(2 * ty.block_bytes(), 0);
            let mut pair = Vec::new();
            repack(ty, &padded, &mut pair).unwrap();
            out.extend_from_slice(&pair[..ty.block_bytes() + 2]);
        }
    }
    out
}

/// Push `file` in the given chunk sizes (cycled); check every piece and return the GPU bytes.
fn stream(
    ty: QuantType,
    file: &[u8],
    rows: u64,
    cols: u64,
    max_piece: usize,
    chunks: &mut dyn FnMut() -> usize,
) -> Vec<u8> {
    let mut rp = BlockRepacker::new(ty, rows, cols, max_piece).unwrap();
    let gpu_len = rp.gpu_len();
    let mut got = Vec::new();
    let mut put = |at: u64, b: &[u8]| -> Result<()> {
        assert_eq!(at, got.len() as u64, "pieces come in order, without gaps");
        assert!(!b.is_empty() && b.len() <= max_piece / 4 * 4, "piece of {}", b.len());
        assert!(
            at.is_multiple_of(4) && b.len().is_multiple_of(4),
            "piece at {at} of {} not word aligned",
            b.len()
        );
        got.extend_from_slice(b);
        Ok(())
    };
    let mut rest = file;
    while !rest.is_empty() {
        let n = chunks().min(rest.len());
        rp.push(&rest[..n], &mut put).unwrap();
        rest = &rest[n..];
    }
    rp.finish(&mut put).unwrap();
    assert_eq!(got.len() as u64, gpu_len);
    got
}

#[test]
fn streaming_matches_one_shot_under_any_chunking() {
    let mut rng = Rng(3);
    for ty in QuantType::ALL {
        let be = ty.block_elems() as u64;
        // F32/F16/BF16: include odd and length-1 rows; blocks: 1..3 blocks per row.
        let shapes: Vec<(u64, u64)> = if be == 1 {
            vec![(3, 7), (1, 1), (4, 16), (5, 13)]
        } else {
            vec![(3, be), (2, 3 * be), (1, 2 * be)]
        };
        for (rows, cols) in shapes {
            let n_blocks = (rows * cols / be) as usize;
            let file = random_blocks(&mut rng, ty, n_blocks);
            let want = expected_gpu(ty, &file, rows, cols);
            assert_eq!(want.len() as u64, rows * ty.gpu_row_bytes(cols));
            let bb = ty.block_bytes();
            for max_piece in [4, 12, 103, ty.gpu_block_bytes(), 1 << 20] {
                let what = format!("{ty:?} {rows}x{cols} max_piece {max_piece}");
                assert_eq!(
                    stream(ty, &file, rows, cols, max_piece, &mut || 1),
                    want,
                    "{what}, 1-byte chunks"
                );
                assert_eq!(
                    stream(ty, &file, rows, cols, max_piece, &mut || 7),
                    want,
                    "{what}, 7-byte chunks"
                );
                assert_eq!(
                    stream(ty, &file, rows, cols, max_piece, &mut || file.len()),
                    want,
                    "{what}, one chunk"
                );
                let mut r = Rng(rng.next());
                let mut random = || r.below(3 * bb + 2); // includes empty pushes
                assert_eq!(
                    stream(ty, &file, rows, cols, max_piece, &mut random),
                    want,
                    "{what}, random chunks"
                );
            }
        }
    }
}

/// Rows that end mid-unit (a single block of a paired type, an odd F16/BF16 row) read back
/// through the row-aware dequantizer as the file's values.
#[test]
fn gpu_rows_dequantize_like_the_file() {
    let mut rng = Rng(5);
    for ty in QuantType::ALL {
        let be = ty.block_elems() as u64;
        for (rows, blocks) in [(3u64, 1u64), (2, 3), (1, 2), (4, 5)] {
            let cols = blocks * be;
            let file = random_blocks(&mut rng, ty, (rows * blocks) as usize);
            let mut want = vec![0.0; (rows * cols) as usize];
            dequantize(ty, &file, &mut want).unwrap();
            let gpu = stream(ty, &file, rows, cols, 1 << 20, &mut || 1000);
            let mut got = vec![f32::NAN; want.len()];
            dequantize_gpu_rows(ty, cols, &gpu, &mut got).unwrap();
            assert!(bit_eq(&got, &want), "{ty:?} {rows}x{cols}");
        }
    }
}

#[test]
fn odd_f16_rows_get_a_zero_half() {
    let halves: Vec<f32> = (0..15).map(|i| i as f32 - 7.5).collect(); // 3 rows × 5
    let file: Vec<u8> = halves.iter().flat_map(|v| half::f16::from_f32(*v).to_le_bytes()).collect();
    let gpu = stream(QuantType::F16, &file, 3, 5, 8, &mut || 3);
    assert_eq!(gpu.len(), 3 * 3 * 4, "3 rows of ceil(5/2) words");
    let mut out = vec![f32::NAN; 18];
    dequantize_gpu_block(QuantType::F16, &gpu, &mut out).unwrap();
    for r in 0..3 {
        assert_eq!(&out[r * 6..r * 6 + 5], &halves[r * 5..r * 5 + 5], "row {r}");
        assert_eq!(out[r * 6 + 5].to_bits(), 0, "row {r} pad");
    }
}

#[test]
fn odd_bf16_rows_get_a_zero_half() {
    let values: Vec<f32> = (0..15).map(|i| i as f32 * 0.25 - 2.0).collect(); // 3 rows × 5, exact in bf16
    let file: Vec<u8> = values.iter().flat_map(|v| v.to_bits().to_le_bytes()[2..].to_vec()).collect();
    let gpu = stream(QuantType::BF16, &file, 3, 5, 8, &mut || 3);
    assert_eq!(gpu.len(), 3 * 3 * 4, "3 rows of ceil(5/2) words");
    let mut out = vec![f32::NAN; 18];
    dequantize_gpu_block(QuantType::BF16, &gpu, &mut out).unwrap();
    for r in 0..3 {
        assert_eq!(&out[r * 6..r * 6 + 5], &values[r * 5..r * 5 + 5], "row {r}");
        assert_eq!(out[r * 6 + 5].to_bits(), 0, "row {r} pad");
    }
}

#[test]
fn errors_instead_of_panics() {
    let sink = &mut |_: u64, _: &[u8]| -> Result<()> { Ok(()) };
    // cols not a whole number of blocks; piece too small.
    assert_eq!(BlockRepacker::new(QuantType::Q4_0, 2, 33, 64).err().unwrap().code(), "invalid_model");
    assert_eq!(BlockRepacker::new(QuantType::Q4_K, 2, 640, 64).err().unwrap().code(), "invalid_model");
    assert_eq!(BlockRepacker::new(QuantType::Q8_0, 2, 32, 3).err().unwrap().code(), "invalid_argument");
    assert!(BlockRepacker::new(QuantType::F32, u64::MAX, u64::MAX, 64).is_err());
    assert!(BlockRepacker::new(QuantType::F16, 1, u64::MAX, 64).is_err());

    // Too many bytes: refused whole, and the right total still finishes.
    let mut rp = BlockRepacker::new(QuantType::Q8_0, 2, 32, 64).unwrap();
    rp.push(&[0; 60], sink).unwrap();
    assert_eq!(rp.push(&[0; 9], sink).unwrap_err().code(), "invalid_argument");
    rp.push(&[0; 8], sink).unwrap();
    rp.finish(sink).unwrap();

    // Too few bytes, including a partial block left as carry.
    let mut rp = BlockRepacker::new(QuantType::Q6_K, 1, 256, 64).unwrap();
    rp.push(&[0; 100], sink).unwrap();
    assert_eq!(rp.finish(sink).unwrap_err().code(), "invalid_argument");

    // The sink's error comes back out.
    let mut rp = BlockRepacker::new(QuantType::F32, 1, 4, 4).unwrap();
    let failing = &mut |_: u64, _: &[u8]| -> Result<()> { Err(brasa::Error::Aborted) };
    assert_eq!(rp.push(&[0; 16], failing).unwrap_err(), brasa::Error::Aborted);

    // One-shot repack of partial units.
    assert!(repack(QuantType::Q4_0, &[0; 19], &mut Vec::new()).is_err());
    assert!(repack(QuantType::F16, &[0; 6], &mut Vec::new()).is_err());
    assert!(repack(QuantType::F16, &[0; 8], &mut Vec::new()).is_ok());

    // Empty tensors are fine and emit nothing.
    let mut called = false;
    let rp = BlockRepacker::new(QuantType::Q4_K, 0, 256, 64).unwrap();
    rp.finish(&mut |_, _| {
        called = true;
        Ok(())
    })
    .unwrap();
    assert!(!called);
}

/// Throughput figures (not a check): `cargo test --test quant_repack -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput() {
    let mut rng = Rng(4);
    for ty in QuantType::ALL {
        let cols = 2560 / ty.block_elems() as u64 * ty.block_elems() as u64;
        let rows = (32 << 20) / ty.row_bytes(cols).unwrap();
        let file = random_blocks(&mut rng, ty, (rows * cols) as usize / ty.block_elems());
        let t = std::time::Instant::now();
        let mut rp = BlockRepacker::new(ty, rows, cols, 1 << 20).unwrap();
        let mut n = 0u64;
        let mut put = |_: u64, b: &[u8]| -> Result<()> {
            n += b.len() as u64;
            Ok(())
        };
        for piece in file.chunks(65536) {
            rp.push(piece, &mut put).unwrap();
        }
        rp.finish(&mut put).unwrap();
        let repack_s = t.elapsed().as_secs_f64();
        let mut out = vec![0.0; (rows * cols) as usize];
        let t = std::time::Instant::now();
        dequantize(ty, &file, &mut out).unwrap();
        let deq_s = t.elapsed().as_secs_f64();
        let mb = file.len() as f64 / 1e6;
        println!(
            "{ty:?}: {mb:.0} MB file; BlockRepacker {:.0} MB/s; dequantize {:.0} MB/s ({:.0} M elems/s)",
            mb / repack_s,
            mb / deq_s,
            out.len() as f64 / 1e6 / deq_s
        );
    }
}
