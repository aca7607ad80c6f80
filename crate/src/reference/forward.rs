//! A CPU forward pass over dequantized weights (f32 storage, f64 dot products).
//!
//! Slow and simple on purpose: it is the oracle for the GPU forward pass, and it is what the
//! llama.cpp reference logits are first compared with when a new architecture is added.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::{Error, Result};
use crate::gguf::{read_header, GgufFile};
use crate::model::hparams::{Act, HParams, RopeLayout};
use crate::quant::{dequantize, QuantType};

/// A dequantized tensor: `rows × cols`, row-major (`cols` = GGUF `dims[0]`).
pub struct CpuTensor {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

impl CpuTensor {
    fn row(&self, r: usize) -> &[f32] {
        &self.data[r * self.cols..(r + 1) * self.cols]
    }

    /// `W · x` for `x` of length `cols`.
    fn matvec(&self, x: &[f32]) -> Vec<f32> {
        (0..self.rows).map(|r| dot(self.row(r), x) as f32).collect()
    }
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
}

/// `x / sqrt(mean(x²) + eps) * w`.
pub fn rms_norm(x: &[f32], w: &[f32], eps: f32) -> Vec<f32> {
    let ms = x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len() as f64;
    let inv = 1.0 / (ms + eps as f64).sqrt();
    x.iter().zip(w).map(|(v, w)| (*v as f64 * inv * *w as f64) as f32).collect()
}

/// GELU with the tanh approximation (what ggml's `ggml_gelu` computes).
pub fn gelu_tanh(x: f64) -> f64 {
    const SQRT_2_OVER_PI: f64 = 0.797_884_560_802_865_4;
    0.5 * x * (1.0 + (SQRT_2_OVER_PI * x * (1.0 + 0.044715 * x * x)).tanh())
}

/// `cap · tanh(x / cap)`, or `x` when `cap` is 0.
pub fn softcap(x: f64, cap: f32) -> f64 {
    if cap > 0.0 {
        cap as f64 * (x / cap as f64).tanh()
    } else {
        x
    }
}

pub fn silu(x: f64) -> f64 {
    x / (1.0 + (-x).exp())
}

/// Rotates one head in place: `pos` is the token position, `n_rot` the rotated dimensions.
pub fn rope(
    head: &mut [f32],
    layout: RopeLayout,
    pos: u32,
    n_rot: usize,
    base: f32,
    freq_scale: f32,
    factors: Option<&[f32]>,
) {
    let half = n_rot / 2;
    for i in 0..half {
        let factor = factors.map_or(1.0, |f| f[i] as f64);
        let theta =
            pos as f64 * freq_scale as f64 * (base as f64).powf(-2.0 * i as f64 / n_rot as f64) / factor;
        let (sin, cos) = theta.sin_cos();
        let (a, b) = match layout {
            RopeLayout::NeoX => (i, i + half),
            RopeLayout::Normal => (2 * i, 2 * i + 1),
        };
        let (x0, x1) = (head[a] as f64, head[b] as f64);
        head[a] = (x0 * cos - x1 * sin) as f32;
        head[b] = (x0 * sin + x1 * cos) as f32;
    }
}

/// A whole model, dequantized into memory (gemma-3-270m: about 1.1 GB).
/// Phi-3's fused `attn_qkv` (q, k, v rows) and `ffn_up` (gate rows, then up rows) become the
/// separate tensors the forward pass reads.
fn split_fused(hp: &HParams, tensors: &mut HashMap<String, CpuTensor>) {
    let (q, kv, ff) = (hp.q_dim() as usize, hp.kv_dim() as usize, hp.n_ff as usize);
    for il in 0..hp.n_layer {
        let n = |s: &str| format!("blk.{il}.{s}.weight");
        let plans = [
            ("attn_qkv", vec![("attn_q", q), ("attn_k", kv), ("attn_v", kv)]),
            ("ffn_up", vec![("ffn_gate", ff), ("ffn_up", ff)]),
        ];
        for (fused, parts) in plans {
            let rows: usize = parts.iter().map(|p| p.1).sum();
            if tensors.get(&n(fused)).is_none_or(|t| t.rows != rows) {
                continue;
            }
            let Some(t) = tensors.remove(&n(fused)) else { continue };
            let mut row = 0;
            for (name, r) in parts {
                let data = t.data[row * t.cols..(row + r) * t.cols].to_vec();
                tensors.insert(n(name), CpuTensor { rows: r, cols: t.cols, data });
                row += r;
            }
        }
    }
}

pub struct CpuModel {
    pub hp: HParams,
    tensors: HashMap<String, CpuTensor>,
}

impl CpuModel {
    /// Reads and dequantizes every tensor of a GGUF file.
    pub fn load(path: &Path) -> Result<Self> {
        let file: GgufFile = read_header(path)?;
        let mut f = std::fs::File::open(path)?;
        let mut tensors = HashMap::new();
        for t in &file.tensors {
            let ty = QuantType::for_tensor(&t.name, t.type_id)?;
            let cols = t.dims[0] as usize;
            let rows = (t.n_elements() / t.dims[0]) as usize;
            let mut raw = vec![0u8; t.n_bytes as usize];
            f.seek(SeekFrom::Start(file.data_offset + t.offset))?;
            f.read_exact(&mut raw)?;
            let mut data = vec![0f32; rows * cols];
            dequantize(ty, &raw, &mut data)?;
            tensors.insert(t.name.clone(), CpuTensor { rows, cols, data });
        }
        let n_vocab = tensors
            .get("token_embd.weight")
            .map(|t| t.rows as u32)
            .ok_or_else(|| Error::InvalidModel("missing tensor token_embd.weight".into()))?;
        let hp = HParams::from_metadata(&file.metadata, n_vocab)?;
        split_fused(&hp, &mut tensors);
        Ok(CpuModel { hp, tensors })
    }

    fn t(&self, name: &str) -> Result<&CpuTensor> {
        self.tensors.get(name).ok_or_else(|| Error::InvalidModel(format!("missing tensor {name}")))
    }

    fn lt(&self, il: u32, name: &str) -> Result<&CpuTensor> {
        self.t(&format!("blk.{il}.{name}.weight"))
    }

    /// Logits `[tokens.len()][n_vocab]` for a sequence starting at position 0.
    pub fn forward(&self, tokens: &[u32]) -> Result<Vec<Vec<f32>>> {
        let hp = &self.hp;
        let (hd, n_head, n_kv) = (hp.head_dim as usize, hp.n_head as usize, hp.n_head_kv as usize);
        let group = n_head / n_kv;
        let embd = self.t("token_embd.weight")?;
        let mut xs: Vec<Vec<f32>> = Vec::with_capacity(tokens.len());
        for &tok in tokens {
            if tok as usize >= embd.rows {
                return Err(Error::InvalidArgument(format!("token {tok} out of range")));
            }
            let s = hp.embed_scale();
            xs.push(embd.row(tok as usize).iter().map(|v| v * s).collect());
        }
        for il in 0..hp.n_layer {
            let base = hp.rope_base_for(il);
            let window = if hp.is_swa_layer(il) { hp.sliding_window as usize } else { 0 };
            // Q, K, V for every position.
            let mut qs = Vec::new();
            let mut ks = Vec::new();
            let mut vs = Vec::new();
            for (p, x) in xs.iter().enumerate() {
                let h = rms_norm(x, &self.lt(il, "attn_norm")?.data, hp.rms_eps);
                let mut q = self.lt(il, "attn_q")?.matvec(&h);
                let mut k = self.lt(il, "attn_k")?.matvec(&h);
                let mut v = self.lt(il, "attn_v")?.matvec(&h);
                if hp.traits.qkv_bias {
                    for (y, name) in [(&mut q, "attn_q"), (&mut k, "attn_k"), (&mut v, "attn_v")] {
                        let bias = &self.t(&format!("blk.{il}.{name}.bias"))?.data;
                        y.iter_mut().zip(bias).for_each(|(a, b)| *a += b);
                    }
                }
                for (heads, norm, n) in [(&mut q, "attn_q_norm", n_head), (&mut k, "attn_k_norm", n_kv)] {
                    for hh in 0..n {
                        let head = &mut heads[hh * hd..(hh + 1) * hd];
                        if hp.traits.qk_norm {
                            let normed = rms_norm(head, &self.lt(il, norm)?.data, hp.rms_eps);
                            head.copy_from_slice(&normed);
                        }
                        let factors = self.tensors.get("rope_freqs.weight").map(|t| t.data.as_slice());
                        rope(head, hp.traits.rope, p as u32, hd, base, hp.rope_freq_scale, factors);
                    }
                }
                qs.push(q);
                ks.push(k);
                vs.push(v);
            }
            for p in 0..xs.len() {
                let mut attn = vec![0f32; n_head * hd];
                for h in 0..n_head {
                    let kvh = h / group;
                    let q = &qs[p][h * hd..(h + 1) * hd];
                    let first = if window > 0 { (p + 1).saturating_sub(window) } else { 0 };
                    let scores: Vec<f64> = (first..=p)
                        .map(|j| dot(q, &ks[j][kvh * hd..(kvh + 1) * hd]) * hp.attn_scale as f64)
                        .map(|s| softcap(s, hp.attn_softcap))
                        .collect();
                    let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let e: Vec<f64> = scores.iter().map(|s| (s - m).exp()).collect();
                    let sum: f64 = e.iter().sum();
                    for d in 0..hd {
                        let acc: f64 = (first..=p).zip(&e).map(|(j, w)| w * vs[j][kvh * hd + d] as f64).sum();
                        attn[h * hd + d] = (acc / sum) as f32;
                    }
                }
                let mut o = self.lt(il, "attn_output")?.matvec(&attn);
                if hp.traits.post_norms {
                    o = rms_norm(&o, &self.lt(il, "post_attention_norm")?.data, hp.rms_eps);
                }
                let x = &mut xs[p];
                x.iter_mut().zip(&o).for_each(|(a, b)| *a += b);
                let h = rms_norm(x, &self.lt(il, "ffn_norm")?.data, hp.rms_eps);
                let g = self.lt(il, "ffn_gate")?.matvec(&h);
                let u = self.lt(il, "ffn_up")?.matvec(&h);
                let act: Vec<f32> = g
                    .iter()
                    .zip(&u)
                    .map(|(g, u)| {
                        let a = match hp.traits.act {
                            Act::GeluTanh => gelu_tanh(*g as f64),
                            Act::Silu => silu(*g as f64),
                        };
                        (a * *u as f64) as f32
                    })
                    .collect();
                let mut d = self.lt(il, "ffn_down")?.matvec(&act);
                if hp.traits.post_norms {
                    d = rms_norm(&d, &self.lt(il, "post_ffw_norm")?.data, hp.rms_eps);
                }
                x.iter_mut().zip(&d).for_each(|(a, b)| *a += b);
            }
        }
        let head = self.tensors.get("output.weight").unwrap_or(embd);
        let norm = &self.t("output_norm.weight")?.data;
        Ok(xs
            .iter()
            .map(|x| {
                let logits = head.matvec(&rms_norm(x, norm, hp.rms_eps));
                logits.iter().map(|&l| softcap(l as f64, hp.final_logit_softcap) as f32).collect()
            })
            .collect())
    }
}
