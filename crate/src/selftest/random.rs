//! Deterministic test data: a small RNG, and random weights in brasa's GPU layout with their
//! exact values decoded independently from the block fields (following ggml's dequantize_row_*
//! definitions), so a test needs no dequantizer of the GPU bytes.

// Loops index several parallel arrays by position, as ggml's definitions do.
#![allow(clippy::needless_range_loop)]

use crate::error::{Error, Result};
use crate::quant::QuantType;
use half::f16;

/// splitmix64: small, deterministic, good enough for test data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    pub fn byte(&mut self) -> u8 {
        (self.next_u64() >> 56) as u8
    }
    /// Uniform in [lo, hi).
    pub fn f32(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * ((self.next_u64() >> 40) as f32 / (1u64 << 24) as f32)
    }
    pub fn vec(&mut self, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| self.f32(lo, hi)).collect()
    }
}

/// A random `[rows, cols]` weight: GPU-layout bytes (row after row) and its dense values.
pub struct RandomWeight {
    pub gpu: Vec<u8>,
    pub dense: Vec<f32>,
}

fn h(rng: &mut Rng, lo: f32, hi: f32) -> f16 {
    let v = rng.f32(lo, hi);
    f16::from_f32(if rng.byte() & 1 == 0 { v } else { -v })
}

fn bytes(rng: &mut Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.byte()).collect()
}

fn push_f16(out: &mut Vec<u8>, v: f16) {
    out.extend_from_slice(&v.to_bits().to_le_bytes());
}

fn scale_min_k4(j: usize, q: &[u8]) -> (f32, f32) {
    if j < 4 {
        ((q[j] & 63) as f32, (q[j + 4] & 63) as f32)
    } else {
        (((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4)) as f32, ((q[j + 4] >> 4) | ((q[j] >> 6) << 4)) as f32)
    }
}

/// Append one random block of `ty` to `gpu` (GPU layout, a single block) and its values to
/// `dense`. The element types (F32, F16, BF16) have no blocks: [`random_weight`] makes their
/// rows, and they append nothing here.
fn block(ty: QuantType, rng: &mut Rng, gpu: &mut Vec<u8>, dense: &mut Vec<f32>) {
    match ty {
        QuantType::F32 | QuantType::F16 | QuantType::BF16 => {}
        QuantType::Q4_0 => {
            let d = h(rng, 0.05, 0.15);
            let qs = bytes(rng, 16);
            push_f16(gpu, d);
            gpu.extend_from_slice(&[0, 0]);
            gpu.extend_from_slice(&qs);
            let d = d.to_f32();
            dense.extend(qs.iter().map(|&q| d * ((q & 15) as f32 - 8.0)));
            dense.extend(qs.iter().map(|&q| d * ((q >> 4) as f32 - 8.0)));
        }
        QuantType::Q4_1 | QuantType::Q5_1 => {
            // d, m, [qh], qs: already aligned, so the GPU block is the file block.
            let d = h(rng, 0.03, 0.1);
            let m = h(rng, 0.0, 1.0);
            let qh = rng.u32();
            let qs = bytes(rng, 16);
            push_f16(gpu, d);
            push_f16(gpu, m);
            let five = ty == QuantType::Q5_1;
            if five {
                gpu.extend_from_slice(&qh.to_le_bytes());
            }
            gpu.extend_from_slice(&qs);
            let (d, m) = (d.to_f32(), m.to_f32());
            let fifth = |i: usize| if five { ((qh >> i) & 1) << 4 } else { 0 };
            for j in 0..32 {
                let nib = if j < 16 { qs[j] & 15 } else { qs[j - 16] >> 4 };
                dense.push(d * (nib as u32 | fifth(j)) as f32 + m);
            }
        }
        QuantType::Q2_K => {
            let d = h(rng, 0.002, 0.004);
            let dmin = h(rng, 0.001, 0.003);
            let scales = bytes(rng, 16);
            let qs = bytes(rng, 64);
            push_f16(gpu, d);
            push_f16(gpu, dmin);
            gpu.extend_from_slice(&scales);
            gpu.extend_from_slice(&qs);
            let (d, dmin) = (d.to_f32(), dmin.to_f32());
            // ggml's dequantize_row_q2_K, loop for loop.
            let mut is = 0;
            for n in 0..2 {
                let q = &qs[32 * n..];
                for shift in [0, 2, 4, 6] {
                    for half in 0..2 {
                        let sc = scales[is];
                        is += 1;
                        let (dl, ml) = (d * (sc & 0xF) as f32, dmin * (sc >> 4) as f32);
                        for l in 0..16 {
                            dense.push(dl * ((q[l + 16 * half] >> shift) & 3) as f32 - ml);
                        }
                    }
                }
            }
        }
        QuantType::Q3_K => {
            let d = h(rng, 0.002, 0.004);
            let hmask = bytes(rng, 32);
            let qs = bytes(rng, 64);
            let scales = bytes(rng, 12);
            push_f16(gpu, d);
            gpu.extend_from_slice(&[0, 0]);
            gpu.extend_from_slice(&hmask);
            gpu.extend_from_slice(&qs);
            gpu.extend_from_slice(&scales);
            let d = d.to_f32();
            // ggml's scale unpacking through four u32 words.
            let word = |i: usize| {
                u32::from_le_bytes([scales[4 * i], scales[4 * i + 1], scales[4 * i + 2], scales[4 * i + 3]])
            };
            let (a0, a1, tmp) = (word(0), word(1), word(2));
            let (k1, k2) = (0x0303_0303u32, 0x0f0f_0f0fu32);
            let aux = [
                (a0 & k2) | ((tmp & k1) << 4),
                (a1 & k2) | (((tmp >> 2) & k1) << 4),
                ((a0 >> 4) & k2) | (((tmp >> 4) & k1) << 4),
                ((a1 >> 4) & k2) | (((tmp >> 6) & k1) << 4),
            ];
            let sc: Vec<i32> = aux.iter().flat_map(|w| w.to_le_bytes()).map(|b| b as i8 as i32).collect();
            // ggml's dequantize_row_q3_K, loop for loop.
            let (mut is, mut m) = (0, 1u8);
            for n in 0..2 {
                let q = &qs[32 * n..];
                for shift in [0, 2, 4, 6] {
                    for half in 0..2 {
                        let dl = d * (sc[is] - 32) as f32;
                        is += 1;
                        for l in 16 * half..16 * half + 16 {
                            let v = ((q[l] >> shift) & 3) as i32 - if hmask[l] & m != 0 { 0 } else { 4 };
                            dense.push(dl * v as f32);
                        }
                    }
                    m <<= 1;
                }
            }
        }
        QuantType::Q5_0 => {
            let d = h(rng, 0.03, 0.1);
            let qh = rng.u32();
            let qs = bytes(rng, 16);
            push_f16(gpu, d);
            gpu.extend_from_slice(&[0, 0]);
            gpu.extend_from_slice(&qh.to_le_bytes());
            gpu.extend_from_slice(&qs);
            let d = d.to_f32();
            for j in 0..16 {
                let v = (qs[j] & 15) as u32 | ((qh >> j) & 1) << 4;
                dense.push(d * (v as f32 - 16.0));
            }
            for j in 0..16 {
                let v = (qs[j] >> 4) as u32 | ((qh >> (j + 16)) & 1) << 4;
                dense.push(d * (v as f32 - 16.0));
            }
        }
        QuantType::Q8_0 => {
            let d = h(rng, 0.005, 0.01);
            let qs = bytes(rng, 32);
            push_f16(gpu, d);
            gpu.extend_from_slice(&[0, 0]);
            gpu.extend_from_slice(&qs);
            dense.extend(qs.iter().map(|&q| d.to_f32() * (q as i8) as f32));
        }
        QuantType::Q4_K | QuantType::Q5_K => {
            let d = h(rng, 0.002, 0.004);
            let dmin = h(rng, 0.001, 0.003);
            let scales = bytes(rng, 12);
            let qh = bytes(rng, 32);
            let qs = bytes(rng, 128);
            push_f16(gpu, d);
            push_f16(gpu, dmin);
            gpu.extend_from_slice(&scales);
            if ty == QuantType::Q5_K {
                gpu.extend_from_slice(&qh);
            }
            gpu.extend_from_slice(&qs);
            let (d, dmin) = (d.to_f32(), dmin.to_f32());
            for c in 0..4 {
                let (sc1, m1) = scale_min_k4(2 * c, &scales);
                let (sc2, m2) = scale_min_k4(2 * c + 1, &scales);
                let ql = &qs[32 * c..32 * c + 32];
                let hb = |l: usize, bit: usize| {
                    if ty == QuantType::Q5_K && (qh[l] >> bit) & 1 == 1 {
                        16.0
                    } else {
                        0.0
                    }
                };
                for l in 0..32 {
                    dense.push(d * sc1 * ((ql[l] & 15) as f32 + hb(l, 2 * c)) - dmin * m1);
                }
                for l in 0..32 {
                    dense.push(d * sc2 * ((ql[l] >> 4) as f32 + hb(l, 2 * c + 1)) - dmin * m2);
                }
            }
        }
        QuantType::Q6_K => {
            let d = h(rng, 0.0005, 0.001);
            let ql = bytes(rng, 128);
            let qh = bytes(rng, 64);
            let sc = bytes(rng, 16);
            push_f16(gpu, d);
            gpu.extend_from_slice(&[0, 0]);
            gpu.extend_from_slice(&ql);
            gpu.extend_from_slice(&qh);
            gpu.extend_from_slice(&sc);
            let d = d.to_f32();
            let mut y = [0f32; 256];
            for n in 0..2 {
                let (ql, qh, sc, y) = (&ql[64 * n..], &qh[32 * n..], &sc[8 * n..], &mut y[128 * n..]);
                for l in 0..32 {
                    let is = l / 16;
                    let q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) as i32 - 32;
                    let q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) as i32 - 32;
                    let q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) as i32 - 32;
                    let q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) as i32 - 32;
                    y[l] = d * (sc[is] as i8) as f32 * q1 as f32;
                    y[l + 32] = d * (sc[is + 2] as i8) as f32 * q2 as f32;
                    y[l + 64] = d * (sc[is + 4] as i8) as f32 * q3 as f32;
                    y[l + 96] = d * (sc[is + 6] as i8) as f32 * q4 as f32;
                }
            }
            dense.extend_from_slice(&y);
        }
    }
}

/// A random `[rows, cols]` weight of type `ty`; `cols` must be a whole number of blocks.
pub fn random_weight(ty: QuantType, rows: usize, cols: usize, rng: &mut Rng) -> Result<RandomWeight> {
    ty.row_bytes(cols as u64)?;
    let mut gpu = Vec::new();
    let mut dense = Vec::with_capacity(rows * cols);
    for _ in 0..rows {
        match ty {
            QuantType::F32 => {
                let v = rng.vec(cols, -1.0, 1.0);
                gpu.extend(v.iter().flat_map(|x| x.to_le_bytes()));
                dense.extend(v);
            }
            QuantType::BF16 => {
                let v: Vec<half::bf16> =
                    (0..cols).map(|_| half::bf16::from_f32(rng.f32(-1.0, 1.0))).collect();
                gpu.extend(v.iter().flat_map(|x| x.to_bits().to_le_bytes()));
                if cols % 2 == 1 {
                    gpu.extend_from_slice(&[0, 0]); // pad the row to whole u32 words
                }
                dense.extend(v.iter().map(|x| x.to_f32()));
            }
            QuantType::F16 => {
                let v: Vec<f16> = (0..cols).map(|_| h(rng, 0.0, 1.0)).collect();
                gpu.extend(v.iter().flat_map(|x| x.to_bits().to_le_bytes()));
                if cols % 2 == 1 {
                    gpu.extend_from_slice(&[0, 0]); // pad the row to whole u32 words
                }
                dense.extend(v.iter().map(|x| x.to_f32()));
            }
            _ => {
                // Each block in its single GPU layout (d, [pad,] body) ...
                let singles: Vec<Vec<u8>> = (0..cols / ty.block_elems())
                    .map(|_| {
                        let mut b = Vec::new();
                        block(ty, rng, &mut b, &mut dense);
                        b
                    })
                    .collect();
                // ... then, for the paired types, two blocks share one header word: d0 | d1 << 16,
                // body 0, body 1; an odd row ends with a single block (d1 = 0).
                if ty.paired() {
                    for pair in singles.chunks(2) {
                        gpu.extend_from_slice(&pair[0][..2]);
                        gpu.extend_from_slice(pair.get(1).map_or(&[0, 0][..], |b| &b[..2]));
                        for b in pair {
                            gpu.extend_from_slice(&b[4..]);
                        }
                    }
                } else {
                    singles.iter().for_each(|b| gpu.extend_from_slice(b));
                }
            }
        }
    }
    // The generator writes the layout by hand: check it against the layout's own size.
    let want = rows as u64 * ty.gpu_row_bytes(cols as u64);
    if gpu.len() as u64 != want || dense.len() != rows * cols {
        return Err(Error::InvalidArgument(format!(
            "{ty:?} test weight [{rows}, {cols}]: {} GPU bytes and {} values, expected {want} and {}",
            gpu.len(),
            dense.len(),
            rows * cols
        )));
    }
    Ok(RandomWeight { gpu, dense })
}
