//! Plain-Rust references for the GPU kernels (f64 accumulation): the oracle the kernel tests
//! compare against. Weights are dense f32 here (dequantized on the CPU beforehand).
//! No GPU types, so this builds without the `gpu` feature.

/// `y[t, r] = Σ_k w[r, k] · x[t, k]`; w: `[rows, cols]`, x: `[n_tokens, cols]`, y: `[n_tokens, rows]`.
pub fn matmul(w: &[f32], rows: usize, cols: usize, x: &[f32], n_tokens: usize) -> Vec<f32> {
    let mut y = vec![0f32; n_tokens * rows];
    for t in 0..n_tokens {
        let xt = &x[t * cols..(t + 1) * cols];
        for r in 0..rows {
            let wr = &w[r * cols..(r + 1) * cols];
            let s: f64 = wr.iter().zip(xt).map(|(&a, &b)| a as f64 * b as f64).sum();
            y[t * rows + r] = s as f32;
        }
    }
    y
}

/// RMS norm of each row of length `n`: `x / sqrt(mean(x²) + eps) * w`.
pub fn rms_norm(x: &[f32], w: &[f32], eps: f32) -> Vec<f32> {
    let n = w.len();
    let mut y = vec![0f32; x.len()];
    for (xr, yr) in x.chunks_exact(n).zip(y.chunks_exact_mut(n)) {
        let ms: f64 = xr.iter().map(|&v| v as f64 * v as f64).sum::<f64>() / n as f64;
        let inv = 1.0 / (ms + eps as f64).sqrt();
        for i in 0..n {
            yr[i] = (xr[i] as f64 * inv * w[i] as f64) as f32;
        }
    }
    y
}

/// RoPE on x: `[n_tokens, n_heads, head_dim]`, in place. `neox`: pairs (i, i + n_rot/2), else
/// (2i, 2i + 1). theta = (pos0 + t) · base^(-2i/n_rot) · freq_scale / factors[i] (factors: 1
/// when `None`).
#[allow(clippy::too_many_arguments)]
pub fn rope(
    x: &mut [f32],
    neox: bool,
    n_tokens: usize,
    n_heads: usize,
    head_dim: usize,
    n_rot: usize,
    pos0: usize,
    base: f32,
    freq_scale: f32,
    factors: Option<&[f32]>,
) {
    let half = n_rot / 2;
    for t in 0..n_tokens {
        let pos = (pos0 + t) as f64;
        for h in 0..n_heads {
            let row = &mut x[(t * n_heads + h) * head_dim..][..head_dim];
            for i in 0..half {
                let factor = factors.map_or(1.0, |f| f[i] as f64);
                let theta =
                    pos * (base as f64).powf(-2.0 * i as f64 / n_rot as f64) * freq_scale as f64 / factor;
                let (s, c) = theta.sin_cos();
                let (i0, i1) = if neox { (i, i + half) } else { (2 * i, 2 * i + 1) };
                let (a, b) = (row[i0] as f64, row[i1] as f64);
                row[i0] = (a * c - b * s) as f32;
                row[i1] = (a * s + b * c) as f32;
            }
        }
    }
}

/// Causal attention (see `Batch::attention`): q/out `[n_tokens, n_head, head_dim]`, k/v
/// `[positions, n_kv_head, head_dim]`.
#[allow(clippy::too_many_arguments)]
pub fn attention(
    q: &[f32],
    k: &[f32],
    v: &[f32],
    n_tokens: usize,
    n_head: usize,
    n_kv_head: usize,
    head_dim: usize,
    pos0: usize,
    window: usize,
    scale: f32,
    softcap: f32,
) -> Vec<f32> {
    let group = n_head / n_kv_head;
    let mut out = vec![0f32; n_tokens * n_head * head_dim];
    for t in 0..n_tokens {
        let p = pos0 + t;
        let lo = if window > 0 { (p + 1).saturating_sub(window) } else { 0 };
        for h in 0..n_head {
            let kvh = h / group;
            let qr = &q[(t * n_head + h) * head_dim..][..head_dim];
            let mut scores: Vec<f64> = (lo..=p)
                .map(|j| {
                    let kr = &k[(j * n_kv_head + kvh) * head_dim..][..head_dim];
                    let mut s =
                        qr.iter().zip(kr).map(|(&a, &b)| a as f64 * b as f64).sum::<f64>() * scale as f64;
                    if softcap > 0.0 {
                        s = softcap as f64 * (s / softcap as f64).tanh();
                    }
                    s
                })
                .collect();
            let m = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let mut sum = 0.0;
            for s in scores.iter_mut() {
                *s = (*s - m).exp();
                sum += *s;
            }
            let o = &mut out[(t * n_head + h) * head_dim..][..head_dim];
            for (d, od) in o.iter_mut().enumerate() {
                let acc: f64 = (lo..=p)
                    .zip(&scores)
                    .map(|(j, &pj)| pj * v[(j * n_kv_head + kvh) * head_dim + d] as f64)
                    .sum();
                *od = (acc / sum) as f32;
            }
        }
    }
    out
}

/// GELU, tanh approximation.
pub fn gelu_tanh(x: f64) -> f64 {
    0.5 * x * (1.0 + ((2.0 / std::f64::consts::PI).sqrt() * (x + 0.044715 * x * x * x)).tanh())
}

/// SiLU: x · sigmoid(x).
pub fn silu(x: f64) -> f64 {
    x / (1.0 + (-x).exp())
}

/// `act(gate[i]) * up[i]`.
pub fn gated_act(gate: &[f32], up: &[f32], act: fn(f64) -> f64) -> Vec<f32> {
    gate.iter().zip(up).map(|(&g, &u)| (act(g as f64) * u as f64) as f32).collect()
}

/// Rows `tokens[t]` of the dense `[rows, cols]` matrix w, times `scale`; ids past the end give
/// zero rows.
pub fn embed(w: &[f32], cols: usize, tokens: &[u32], scale: f32) -> Vec<f32> {
    let rows = w.len() / cols;
    let mut out = vec![0f32; tokens.len() * cols];
    for (t, &tok) in tokens.iter().enumerate() {
        if (tok as usize) < rows {
            for c in 0..cols {
                out[t * cols + c] = (w[tok as usize * cols + c] as f64 * scale as f64) as f32;
            }
        }
    }
    out
}

/// `logsumexp(row) - row[target]` per row of `n_vocab` logits.
pub fn nll(logits: &[f32], n_vocab: usize, targets: &[u32]) -> Vec<f32> {
    logits
        .chunks_exact(n_vocab)
        .zip(targets)
        .map(|(row, &t)| {
            let m = row.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b as f64));
            let lse = m + row.iter().map(|&l| (l as f64 - m).exp()).sum::<f64>().ln();
            (lse - row[t as usize] as f64) as f32
        })
        .collect()
}

/// `Batch::penalize` on one row of logits: add `bias` (distinct ids), then for each distinct id
/// of `recent` seen `c` times: `l = l <= 0 ? l·repeat : l/repeat; l -= c·frequency + presence`
/// (llama.cpp's logit-bias and penalties samplers).
pub fn penalize(
    logits: &mut [f32],
    bias: &[(u32, f32)],
    recent: &[u32],
    repeat: f32,
    frequency: f32,
    presence: f32,
) {
    for &(id, b) in bias {
        if let Some(l) = logits.get_mut(id as usize) {
            *l += b;
        }
    }
    let mut counts = std::collections::BTreeMap::new();
    for &id in recent {
        *counts.entry(id).or_insert(0u32) += 1;
    }
    for (id, c) in counts {
        if let Some(l) = logits.get_mut(id as usize) {
            let v = if *l <= 0.0 { *l * repeat } else { *l / repeat };
            *l = v - c as f32 * frequency - presence;
        }
    }
}

/// What the sampling rule gives instead of a token id when a logit is NaN or +inf (weights that
/// hold them, or activations that overflowed): no valid id, so the host reports
/// `Error::Numerical` and the next step's embedding lookup reads a zero row.
pub const NON_FINITE_TOKEN: u32 = u32::MAX;

/// The sampling rule of `Batch::sample` (see `SampleArgs`), in f64. Returns the token id, or
/// [`NON_FINITE_TOKEN`] when a logit is NaN or +inf.
pub fn sample(logits: &[f32], temperature: f32, top_k: u32, top_p: f32, min_p: f32, u: f32) -> u32 {
    if logits.iter().any(|l| l.is_nan() || *l == f32::INFINITY) {
        return NON_FINITE_TOKEN;
    }
    let n = logits.len();
    let by_rank = |a: &usize, b: &usize| logits[*b].total_cmp(&logits[*a]).then(a.cmp(b));
    if top_k == 1 || temperature <= 0.0 || n == 1 {
        return (0..n).min_by(by_rank).unwrap_or(0) as u32;
    }
    let t = temperature as f64;
    let k = if top_k == 0 { n } else { (top_k as usize).min(n) };
    let m = logits.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b as f64));
    let (kept, weights): (Vec<usize>, Vec<f64>) = if k <= 256 || top_p < 1.0 {
        let mut ids: Vec<usize> = (0..n).collect();
        ids.sort_by(by_rank);
        ids.truncate(k.min(256));
        // top-p and min-p on temperature-1 probabilities, in rank order.
        let w1: Vec<f64> = ids.iter().map(|&i| (logits[i] as f64 - m).exp()).collect();
        let total1: f64 = w1.iter().sum();
        let mut keep = ids.len();
        let mut cum = 0.0;
        for (j, &w) in w1.iter().enumerate() {
            if j > 0 && w < min_p as f64 {
                keep = j;
                break;
            }
            cum += w;
            if top_p < 1.0 && cum >= top_p as f64 * total1 {
                keep = j + 1;
                break;
            }
        }
        ids.truncate(keep);
        let w = ids.iter().map(|&i| ((logits[i] as f64 - m) / t).exp()).collect();
        (ids, w)
    } else {
        // Whole vocabulary, in id order; min-p keeps l >= m + ln(min_p).
        let cut = if min_p > 0.0 { m + (min_p as f64).ln() } else { f64::NEG_INFINITY };
        let ids: Vec<usize> = (0..n).filter(|&i| logits[i] as f64 >= cut).collect();
        let w = ids.iter().map(|&i| ((logits[i] as f64 - m) / t).exp()).collect();
        (ids, w)
    };
    let total: f64 = weights.iter().sum();
    let target = u as f64 * total;
    let mut cum = 0.0;
    for (&id, &w) in kept.iter().zip(&weights) {
        cum += w;
        if cum > target {
            return id as u32;
        }
    }
    kept.last().copied().unwrap_or(0) as u32
}
