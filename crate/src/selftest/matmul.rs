//! Mat-vec, mat-mul and embedding for every block format, on weights whose exact values are
//! known (`random.rs`), against `reference::kernels` (f64).
//!
//! Budget of the products, all formats: normalized error ≤ 1e-4. The dequantized weights are
//! exact up to one or two f32 roundings (f16 scales are exact in f32), so the error is the f32
//! accumulation of `cols` products: about sqrt(cols) · 2^-24 relative to the output scale,
//! < 1e-5 for cols ≤ 2048. An indexing or layout bug gives errors of order 1.

use super::{Checks, Rng, SelfTest};
use crate::error::Result;
use crate::kernels::{Activation, MatmulOut, NormedInput, OutCols};
use crate::model::stacked;
use crate::quant::QuantType;
use crate::reference::kernels as reference;

pub(super) const BUDGET: f64 = 1e-4;

/// Budget of the f16 mat-mul tiles (gpu::MatmulTiling::WorkgroupF16): weights and activations
/// rounded to f16 (2^-12 relative each on average) and each dot of 4 products summed in f16 give
/// about 1e-3 of the output scale, summed in f32 over `cols`. Still far from an indexing bug's.
pub(super) const F16_BUDGET: f64 = 5e-3;

/// Embedding is a pure decode: only the f32 rounding of value · scale (and a multiply-add the
/// GPU may fuse where numpy rounds twice): a few ulp.
pub(super) const EMBED_BUDGET: f64 = 1e-6;

/// Columns per format: two blocks or more, and odd lengths for the element types (exercising
/// the tail of a group of 8); an odd number of blocks for the paired types (a pair, then a
/// single block).
pub fn cols_for(ty: QuantType) -> usize {
    match ty {
        QuantType::F32 => 37,
        QuantType::F16 => 75,
        QuantType::BF16 => 45,
        QuantType::Q4_0 | QuantType::Q4_1 | QuantType::Q5_0 | QuantType::Q5_1 | QuantType::Q8_0 => 96,
        QuantType::Q3_K | QuantType::Q6_K => 768,
        _ => 512,
    }
}

/// The kernel a call with `n_tokens` runs: the mat-vec for one token, the tiled mat-mul for more.
fn by_tokens(n_tokens: usize, matvec: &'static str, matmul: &'static str) -> &'static str {
    if n_tokens == 1 {
        matvec
    } else {
        matmul
    }
}

/// Every format, 1, 7 and 300 rows (300: a weight split over several buffers), 1 to 130
/// tokens; the ≤ 17-token runs again into columns 4 .. 4 + rows of rows `rows + 9` wide (the
/// q/k/v projections into one qkv buffer), the other columns left as they were. Every batch of
/// several tokens runs on both mat-mul tilings.
pub(super) async fn matmul(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
    let mut rng = Rng(1);
    for ty in QuantType::ALL {
        let cols = cols_for(ty);
        for rows in [1usize, 7, 300] {
            let (w, dense) = t.random_weight(true, ty, rows, cols, &mut rng)?;
            let parts = w.parts.len();
            if rows == 300 {
                out.holds(
                    "split",
                    Some(ty),
                    &format!("rows {rows} cols {cols}"),
                    parts > 1,
                    "a split weight",
                );
            }
            let token_counts: &[usize] = if rows == 300 { &[1, 3, 17, 64, 130] } else { &[1, 17] };
            let stride = rows + 9;
            let mut runs = Vec::new();
            let mut inputs = Vec::new(); // bound by the batches: kept until they are submitted
            let mut batch = t.batch();
            let mut other = t.other_tiling_batch();
            for &nt in token_counts {
                let x = rng.vec(nt * cols, -1.0, 1.0);
                let xb = t.f32_buffer(&x)?;
                let yb = t.zeros(nt * rows)?;
                batch.matmul(&w, &xb, &yb, nt as u32);
                let wide = if nt <= 17 {
                    let wb = t.f32_buffer(&vec![7.0; nt * stride])?;
                    batch.matmul_cols(&w, &xb, &wb, nt as u32, OutCols { stride: stride as u64, col0: 4 });
                    Some(wb)
                } else {
                    None
                };
                let again = if nt > 1 {
                    let b = t.zeros(nt * rows)?;
                    other.matmul(&w, &xb, &b, nt as u32);
                    Some(b)
                } else {
                    None
                };
                runs.push((nt, x, yb, wide, again));
                inputs.push(xb);
            }
            batch.submit()?;
            other.submit()?;
            let mut reads = Vec::new();
            for (nt, _, yb, wide, again) in &runs {
                reads.push((&**yb, nt * rows));
                reads.extend(wide.as_ref().map(|b| (&**b, nt * stride)));
                reads.extend(again.as_ref().map(|b| (&**b, nt * rows)));
            }
            let mut got = t.read(&reads).await?.into_iter();
            for (nt, x, _, wide, again) in &runs {
                let shape = format!("rows {rows} cols {cols} tokens {nt} parts {parts}");
                let want = reference::matmul(&dense, rows, cols, x, *nt);
                let into = by_tokens(*nt, "matvec_cols", "matmul_cols");
                out.close(
                    by_tokens(*nt, "matvec", t.matmul_name(true, false)),
                    Some(ty),
                    &shape,
                    &got.next().unwrap_or_default(),
                    &want,
                    t.product_budget(*nt, true),
                );
                if wide.is_some() {
                    let wide = got.next().unwrap_or_default();
                    let inside: Vec<f32> =
                        wide.chunks(stride).flat_map(|r| r[4..4 + rows].to_vec()).collect();
                    out.close(into, Some(ty), &shape, &inside, &want, t.product_budget(*nt, true));
                    let outside: Vec<f32> = wide
                        .chunks(stride)
                        .flat_map(|r| r[..4].iter().chain(&r[4 + rows..]).copied())
                        .collect();
                    out.same(
                        into,
                        Some(ty),
                        &format!("{shape}, other columns"),
                        &outside,
                        &vec![7.0; outside.len()],
                    );
                }
                if again.is_some() {
                    let got = got.next().unwrap_or_default();
                    let budget = t.product_budget(*nt, false);
                    out.close(t.matmul_name(false, false), Some(ty), &shape, &got, &want, budget);
                }
            }
        }
    }
    Ok(())
}

/// The GLU mat-mul over a stacked gate/up weight (`model::stacked`) gives act(gate·x) · (up·x),
/// as two mat-muls and the activation would: one and several tokens, a stacked weight split
/// into parts (which start at whole quads of rows), filled from separate gate and up tensors
/// and from one fused gate/up source (Phi-3), each uploaded in uneven pieces. The activation
/// (its own include, the same for every format) alternates between the formats: GELU on every
/// other one, SiLU on the rest, so each is checked on both kernels without compiling every
/// (format × activation) pipeline.
pub(super) async fn glu(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
    let ctx = &t.split;
    let mut rng = Rng(4);
    for (i, ty) in QuantType::ALL.into_iter().enumerate() {
        let (act, act_name, act_ref) = match i % 2 {
            0 => (Activation::GeluTanh, "gelu", reference::gelu_tanh as fn(f64) -> f64),
            _ => (Activation::Silu, "silu", reference::silu as fn(f64) -> f64),
        };
        let (ff, cols) = (150, cols_for(ty));
        let gate = super::random_weight(ty, ff, cols, &mut rng)?;
        let up = super::random_weight(ty, ff, cols, &mut rng)?;
        let apart = stacked::create(ctx, 0, ty, ff as u64, cols as u64)?;
        let quads = apart.parts.iter().all(|p| p.first_row % stacked::ROW_GROUP == 0);
        let split = format!("ff {ff} cols {cols} parts {}", apart.parts.len());
        out.holds("split", Some(ty), &split, apart.parts.len() > 1 && quads, "split at whole quads of rows");
        for (half, rw) in [(1, &up), (0, &gate)] {
            let cut = (rw.gpu.len() / 3 + 7) & !3;
            stacked::write(ctx, &apart, half, 0, &rw.gpu[..cut])?;
            stacked::write(ctx, &apart, half, cut as u64, &rw.gpu[cut..])?;
        }
        let fused = stacked::create(ctx, 1, ty, ff as u64, cols as u64)?;
        let both = [gate.gpu.as_slice(), up.gpu.as_slice()].concat();
        let piece = ((both.len() / 5) & !3).max(4);
        for (i, p) in both.chunks(piece).enumerate() {
            stacked::write(ctx, &fused, 0, (i * piece) as u64, p)?;
        }
        let past_end = stacked::write(ctx, &fused, 1, gate.gpu.len() as u64, &[0; 4]).is_err();
        out.holds("stacked_write", Some(ty), &split, past_end, "a write past the end is refused");
        // The batches of several tokens also run from the separate gate and up on the other
        // mat-mul tiling.
        let mut runs = Vec::new();
        let mut inputs = Vec::new(); // bound by the batches: kept until they are submitted
        let mut batch = t.batch();
        let mut other = t.other_tiling_batch();
        for nt in [1usize, 5, 70] {
            let x = rng.vec(nt * cols, -1.0, 1.0);
            let xb = t.f32_buffer(&x)?;
            let (y_apart, y_fused, y_other) = (t.zeros(nt * ff)?, t.zeros(nt * ff)?, t.zeros(nt * ff)?);
            batch.matmul_glu(&apart, &xb, &y_apart, nt as u32, act);
            batch.matmul_glu(&fused, &xb, &y_fused, nt as u32, act);
            if nt > 1 {
                other.matmul_glu(&apart, &xb, &y_other, nt as u32, act);
            }
            runs.push((nt, x, y_apart, y_fused, y_other));
            inputs.push(xb);
        }
        batch.submit()?;
        other.submit()?;
        let reads: Vec<_> = runs
            .iter()
            .flat_map(|(nt, _, a, f, o)| [(&**a, nt * ff), (&**f, nt * ff), (&**o, nt * ff)])
            .collect();
        let got = t.read(&reads).await?;
        for ((nt, x, ..), got) in runs.iter().zip(got.chunks(3)) {
            let gx = reference::matmul(&gate.dense, ff, cols, x, *nt);
            let ux = reference::matmul(&up.dense, ff, cols, x, *nt);
            let want = reference::gated_act(&gx, &ux, act_ref);
            let name = by_tokens(*nt, "matvec_glu", t.matmul_name(true, true));
            let shape = format!("ff {ff} cols {cols} tokens {nt} {act_name}");
            let budget = t.product_budget(*nt, true);
            out.close(name, Some(ty), &format!("{shape}, from gate and up"), &got[0], &want, budget);
            out.close(name, Some(ty), &format!("{shape}, from fused gate_up"), &got[1], &want, budget);
            if *nt > 1 {
                let (name, budget) = (t.matmul_name(false, true), t.product_budget(*nt, false));
                out.close(name, Some(ty), &format!("{shape}, from gate and up"), &got[2], &want, budget);
            }
        }
    }
    Ok(())
}

/// The mat-vec with a normed input (a decoded token's residual update and norm applied inside
/// the mat-vec, `Batch::matvec_normed`) gives W · rms_norm(x + post(o)) · norm_w and stores the
/// updated residual stream once, as `add_norm` and a plain mat-vec would; with and without the
/// post-norm, over split weights, and with the GLU output over a stacked gate/up weight.
pub(super) async fn normed(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
    let f64_add = |a: &[f32], b: &[f32]| {
        a.iter().zip(b).map(|(a, b)| (*a as f64 + *b as f64) as f32).collect::<Vec<_>>()
    };
    let mut rng = Rng(5);
    for ty in QuantType::ALL {
        let (rows, cols) = (300, cols_for(ty));
        let (w, dense) = t.random_weight(true, ty, rows, cols, &mut rng)?;
        let post_v = rng.vec(cols, 0.5, 1.5);
        let norm_v = rng.vec(cols, 0.5, 1.5);
        let (post, norm) = (t.vector_weight("post", &post_v)?, t.vector_weight("norm", &norm_v)?);
        let x = rng.vec(cols, -3.0, 3.0);
        let o = rng.vec(cols, -30.0, 30.0);
        let (xb, ob) = (t.f32_buffer(&x)?, t.f32_buffer(&o)?);
        let (x_post, x_plain) = (t.zeros(cols)?, t.zeros(cols)?);
        // The post-norm case writes columns 5 .. 5 + rows of a wider y (as into qkv).
        let (y_post, y_plain) = (t.zeros(rows + 11)?, t.zeros(rows)?);
        let input = |post_w, x_out| NormedInput {
            x: &xb,
            o: &ob,
            post_w,
            norm_w: &norm,
            x_out,
            write_x: true,
            eps: 1e-6,
        };
        let mut batch = t.batch();
        let into = OutCols { stride: rows as u64 + 11, col0: 5 };
        batch.matvec_normed(&w, &input(Some(&post), &x_post), &y_post, MatmulOut::Plain, Some(into));
        batch.matvec_normed(&w, &input(None, &x_plain), &y_plain, MatmulOut::Plain, None);
        batch.submit()?;
        let got =
            t.read(&[(&x_post, cols), (&x_plain, cols), (&y_post, rows + 11), (&y_plain, rows)]).await?;
        let v_post = f64_add(&x, &reference::rms_norm(&o, &post_v, 1e-6));
        let v_plain = f64_add(&x, &o);
        let shape = format!("rows {rows} cols {cols} parts {}", w.parts.len());
        // The norms' f32 budget (see ops.rs: add_norm), then the mat-vec's.
        out.close("matvec_normed x_out", Some(ty), &format!("{shape} post-norm"), &got[0], &v_post, 2e-5);
        out.close("matvec_normed x_out", Some(ty), &format!("{shape} plain"), &got[1], &v_plain, 1e-6);
        let post_out = &got[2];
        let outside: Vec<f32> = post_out[..5].iter().chain(&post_out[5 + rows..]).copied().collect();
        out.same(
            "matvec_normed",
            Some(ty),
            &format!("{shape}, other columns"),
            &outside,
            &vec![0.0; outside.len()],
        );
        for (what, y, v) in [("post-norm", &post_out[5..5 + rows], &v_post), ("plain", &got[3][..], &v_plain)]
        {
            let xn = reference::rms_norm(v, &norm_v, 1e-6);
            let want = reference::matmul(&dense, rows, cols, &xn, 1);
            out.close("matvec_normed", Some(ty), &format!("{shape} {what}"), y, &want, BUDGET);
        }
        // GLU output over a stacked weight, x_out not written.
        let ff = 150;
        let (gate, up) =
            (super::random_weight(ty, ff, cols, &mut rng)?, super::random_weight(ty, ff, cols, &mut rng)?);
        let sw = stacked::create(&t.split, 0, ty, ff as u64, cols as u64)?;
        stacked::write(&t.split, &sw, 0, 0, &[gate.gpu.as_slice(), up.gpu.as_slice()].concat())?;
        let (untouched, y_glu) = (t.f32_buffer(&x)?, t.zeros(ff)?);
        let mut input = input(Some(&post), &untouched);
        input.write_x = false;
        let mut batch = t.batch();
        batch.matvec_normed(&sw, &input, &y_glu, MatmulOut::Glu(Activation::Silu), None);
        batch.submit()?;
        let got = t.read(&[(&untouched, cols), (&y_glu, ff)]).await?;
        let shape = format!("ff {ff} cols {cols} silu");
        out.same("matvec_normed_glu x_out", Some(ty), &format!("{shape}, write_x off"), &got[0], &x);
        let xn = reference::rms_norm(&v_post, &norm_v, 1e-6);
        let want = reference::gated_act(
            &reference::matmul(&gate.dense, ff, cols, &xn, 1),
            &reference::matmul(&up.dense, ff, cols, &xn, 1),
            reference::silu,
        );
        out.close("matvec_normed_glu", Some(ty), &shape, &got[1], &want, BUDGET);
    }
    Ok(())
}

/// Row slices of a split weight: one that starts inside part 0 and ends inside a later part,
/// one inside a part, and all rows.
pub(super) async fn rows(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
    let mut rng = Rng(2);
    for ty in [QuantType::Q8_0, QuantType::Q6_K, QuantType::F16] {
        let (rows, cols) = (300, cols_for(ty));
        let (w, dense) = t.random_weight(true, ty, rows, cols, &mut rng)?;
        let per_part = w.parts[0].rows as usize;
        for (b, e) in [(per_part - 5, per_part * 2 + 3), (1, 4), (0, rows)] {
            let e = e.min(rows);
            let nt = 5;
            let x = rng.vec(nt * cols, -1.0, 1.0);
            let xb = t.f32_buffer(&x)?;
            let yb = t.zeros(nt * (e - b))?;
            let mut batch = t.batch();
            batch.matmul_rows(&w, &xb, &yb, nt as u32, b as u64, e as u64);
            batch.submit()?;
            let full = reference::matmul(&dense, rows, cols, &x, nt);
            let want: Vec<f32> = (0..nt).flat_map(|t| full[t * rows + b..t * rows + e].to_vec()).collect();
            let got = t.read(&[(&yb, nt * (e - b))]).await?;
            let shape = format!("rows {b}..{e} of {rows} ({per_part} per part) cols {cols} tokens {nt}");
            out.close("matmul_rows", Some(ty), &shape, &got[0], &want, t.product_budget(nt, true));
        }
    }
    Ok(())
}

/// The largest prefill batch, 2048 tokens, on both mat-mul tilings: an element type with a
/// partial last group of 8 and a k-quant, 70 rows (a partial block of 64) split over parts.
pub(super) async fn batch_2048(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
    let mut rng = Rng(14);
    let nt = 2048;
    for ty in [QuantType::F16, QuantType::Q4_K] {
        let (rows, cols) = (70, cols_for(ty));
        let (w, dense) = t.random_weight(true, ty, rows, cols, &mut rng)?;
        let x = rng.vec(nt * cols, -1.0, 1.0);
        let xb = t.f32_buffer(&x)?;
        let (mine, theirs) = (t.zeros(nt * rows)?, t.zeros(nt * rows)?);
        let mut batch = t.batch();
        batch.matmul(&w, &xb, &mine, nt as u32);
        batch.submit()?;
        let mut other = t.other_tiling_batch();
        other.matmul(&w, &xb, &theirs, nt as u32);
        other.submit()?;
        let got = t.read(&[(&mine, nt * rows), (&theirs, nt * rows)]).await?;
        let want = reference::matmul(&dense, rows, cols, &x, nt);
        let shape = format!("rows {rows} cols {cols} tokens {nt} parts {}", w.parts.len());
        out.close(t.matmul_name(true, false), Some(ty), &shape, &got[0], &want, t.product_budget(nt, true));
        out.close(t.matmul_name(false, false), Some(ty), &shape, &got[1], &want, t.product_budget(nt, false));
    }
    super::attention::batch_2048(t, out).await
}

/// More than 65535 · 64 rows in one part: the row blocks of both kernels (64 rows per workgroup
/// for a batch, 64 for one token) need the 2D grid.
pub(super) async fn grid2d(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
    let mut rng = Rng(3);
    let (rows, cols) = (65_535 * 64 + 1usize, 4usize);
    let (w, dense) = t.random_weight(false, QuantType::F16, rows, cols, &mut rng)?;
    let shape = format!("rows {rows} cols {cols}");
    out.holds("split", Some(QuantType::F16), &shape, w.parts.len() == 1, "one part");
    for nt in [1, 2] {
        let x = rng.vec(nt * cols, -1.0, 1.0);
        let xb = t.f32_buffer(&x)?;
        let yb = t.zeros(nt * rows)?;
        let mut batch = t.batch();
        batch.matmul(&w, &xb, &yb, nt as u32);
        batch.submit()?;
        let want = reference::matmul(&dense, rows, cols, &x, nt);
        let got = t.read(&[(&yb, nt * rows)]).await?;
        out.close(
            by_tokens(nt, "matvec", t.matmul_name(true, false)),
            Some(QuantType::F16),
            &format!("{shape} tokens {nt}"),
            &got[0],
            &want,
            t.product_budget(nt, true),
        );
    }
    Ok(())
}

/// Embedding rows of a split weight: ids from several parts, a repeat, the last row, and an
/// out-of-range id (a zero row).
pub(super) async fn embed(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
    let mut rng = Rng(4);
    for ty in QuantType::ALL {
        let (rows, cols) = (300, cols_for(ty));
        let (w, dense) = t.random_weight(true, ty, rows, cols, &mut rng)?;
        let tokens: Vec<u32> = vec![0, 299, 150, 7, 150, 1000, 64, 250, 3, 1, 2, 100, 200, 299, 5, 6, 8];
        let tb = t.u32_buffer(&tokens)?;
        let ob = t.f32_buffer(&vec![f32::NAN; tokens.len() * cols])?;
        let mut batch = t.batch();
        batch.embed(&w, &tb, &ob, tokens.len() as u32, 1.5);
        batch.submit()?;
        let want = reference::embed(&dense, cols, &tokens, 1.5);
        let got = t.read(&[(&ob, tokens.len() * cols)]).await?;
        let shape = format!("rows {rows} cols {cols} parts {} tokens {}", w.parts.len(), tokens.len());
        out.close("embed", Some(ty), &shape, &got[0], &want, EMBED_BUDGET);
    }
    Ok(())
}
