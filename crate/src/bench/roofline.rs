//! The roofline: how close the decode mat-vec kernels come to the device's copy bandwidth.
//!
//! Each kernel is timed by wall clock (portable: no timestamp queries needed) over one batch of
//! many identical dispatches, from submit until a 4-byte readback queued after them completes.
//! A one-call warm-up picks the call count so a batch lasts about [`BATCH_S`]; the best of
//! [`TRIALS`] batches is kept (the machine may be shared).

use web_time::Instant;

use super::report::{Bandwidth, Roofline, Target};
use crate::error::Result;
use crate::generate::Engine;
use crate::gpu::GpuWeight;
use crate::kernels::Batch;
use crate::model::Model;
use crate::quant::QuantType;

/// Aimed length of one timed batch.
const BATCH_S: f64 = 0.3;
const TRIALS: usize = 3;
const MAX_CALLS: u32 = 500;
/// Size of the copy kernel's source (and destination) buffer, unless the device allows less.
const COPY_BYTES: u64 = 64 << 20;
/// The target: mat-vec bandwidth ≥ 70 % of the copy kernel's.
const MATVEC_TARGET: f64 = 0.70;

/// Times the copy kernel, the largest layer matrix of each block format and the LM head.
pub async fn measure(engine: &Engine, model: &Model, progress: &mut dyn FnMut(&str)) -> Result<Roofline> {
    let ctx = &engine.ctx;
    let sync = ctx.storage_buffer("bench sync", 4)?;

    let limit = ctx.limits.max_storage_buffer_binding_size.min(ctx.limits.max_buffer_size);
    let copy_bytes = COPY_BYTES.min(limit) / 16 * 16;
    let src = ctx.storage_buffer("bench copy src", copy_bytes)?;
    let dst = ctx.storage_buffer("bench copy dst", copy_bytes)?;
    progress(&format!("roofline: copy kernel, {} MiB", copy_bytes >> 20));
    let (calls, seconds) = time_calls(engine, &sync, &mut |b| b.copy_kernel(&src, &dst, copy_bytes)).await?;
    drop((src, dst));
    let moved = 2 * copy_bytes;
    let copy = Bandwidth {
        what: "copy".into(),
        ty: "copy".into(),
        rows: 1,
        cols: copy_bytes / 4,
        bytes: moved,
        calls,
        seconds,
        gb_s: moved as f64 / seconds / 1e9,
        fraction_of_copy: None,
    };

    let mut matvec = Vec::new();
    for w in largest_per_type(model) {
        progress(&format!("roofline: mat-vec {} ({})", w.name, w.ty.name()));
        matvec.push(time_matvec(engine, &sync, w, copy.gb_s).await?);
    }
    let head = model.weights.lm_head();
    progress(&format!("roofline: LM head {} ({})", head.name, head.ty.name()));
    let lm_head = time_matvec(engine, &sync, head, copy.gb_s).await?;
    Ok(Roofline { copy, matvec, lm_head })
}

/// The largest layer matrix of each block format, in a stable order (by format).
fn largest_per_type(model: &Model) -> Vec<&GpuWeight> {
    let mut best: Vec<(QuantType, &GpuWeight)> = Vec::new();
    for l in &model.weights.layers {
        let mut weights: Vec<&GpuWeight> = l.qkv.iter().map(|p| &p.w).collect();
        weights.extend([&l.wo, &l.down]);
        weights.extend(l.ffn_in.weights());
        for w in weights {
            match best.iter_mut().find(|(ty, _)| *ty == w.ty) {
                Some(slot) if w.gpu_bytes() > slot.1.gpu_bytes() => slot.1 = w,
                Some(_) => {}
                None => best.push((w.ty, w)),
            }
        }
    }
    best.sort_by_key(|(ty, _)| ty.name());
    best.into_iter().map(|(_, w)| w).collect()
}

/// One-token mat-vec over `w` (every part), as decode runs it.
async fn time_matvec(
    engine: &Engine,
    sync: &wgpu::Buffer,
    w: &GpuWeight,
    copy_gb_s: f64,
) -> Result<Bandwidth> {
    let ctx = &engine.ctx;
    let x = ctx.storage_buffer("bench x", w.cols * 4)?;
    let xs: Vec<f32> = (0..w.cols).map(|i| ((i % 17) as f32 - 8.0) / 64.0).collect();
    ctx.write_buffer(&x, 0, bytemuck::cast_slice(&xs))?;
    let y = ctx.storage_buffer("bench y", w.rows * 4)?;
    let (calls, seconds) = time_calls(engine, sync, &mut |b| b.matmul(w, &x, &y, 1)).await?;
    let bytes = w.gpu_bytes();
    let gb_s = bytes as f64 / seconds / 1e9;
    Ok(Bandwidth {
        what: w.name.clone(),
        ty: w.ty.name().to_string(),
        rows: w.rows,
        cols: w.cols,
        bytes,
        calls,
        seconds,
        gb_s,
        fraction_of_copy: Some(Target::at_least(gb_s / copy_gb_s, MATVEC_TARGET)),
    })
}

/// `(calls per batch, best seconds per call)` of the op `record` adds to a batch.
async fn time_calls(
    engine: &Engine,
    sync: &wgpu::Buffer,
    record: &mut dyn FnMut(&mut Batch),
) -> Result<(u32, f64)> {
    // The warm-up also builds the pipeline (at record time, outside the timed span).
    let one = time_batch(engine, sync, 1, record).await?;
    let calls = ((BATCH_S / one.max(1e-6)).ceil() as u32).clamp(2, MAX_CALLS);
    let mut best = f64::INFINITY;
    for _ in 0..TRIALS {
        best = best.min(time_batch(engine, sync, calls, record).await?);
    }
    Ok((calls, best / calls as f64))
}

/// Seconds from submitting `calls` recorded ops until the GPU has finished them.
async fn time_batch(
    engine: &Engine,
    sync: &wgpu::Buffer,
    calls: u32,
    record: &mut dyn FnMut(&mut Batch),
) -> Result<f64> {
    let ctx = &engine.ctx;
    let mut b = engine.kernels.batch(ctx);
    for _ in 0..calls {
        record(&mut b);
    }
    let t0 = Instant::now();
    b.submit()?;
    // The readback is queued after the batch, so its completion means the batch is done.
    ctx.read_buffer(sync, 0, 4).await?;
    Ok(t0.elapsed().as_secs_f64())
}
