//! Per-dispatch GPU times of a batch, from timestamp queries (`brasa bench --profile`): which
//! kernel takes what share of a decoded token.
//!
//! A timestamp is written in the compute pass before the batch's first dispatch and after each
//! dispatch, so dispatch i's time is `t[i + 1] − t[i]`: the GPU's time between the two points,
//! including any wait for the previous dispatch's results (a barrier between dependent
//! dispatches) and a copy recorded in between. Needs a device created with
//! [`crate::gpu::GpuOptions::timestamps`] on an adapter that has `TIMESTAMP_QUERY` and
//! `TIMESTAMP_QUERY_INSIDE_PASSES` (natively; WebGPU offers no timestamps inside passes).

use super::{Batch, PipelineKey};
use crate::error::{Error, Result};
use crate::gpu::{GpuContext, OwnedBuffer, TIMESTAMP_FEATURES};

/// Timestamp queries for up to `capacity` dispatches of one batch at a time.
pub struct Profiler {
    query_set: wgpu::QuerySet,
    capacity: u32,
    /// Where the queries resolve to, and its mappable copy.
    resolved: OwnedBuffer,
    readback: OwnedBuffer,
    /// The pipeline of each dispatch recorded so far, and the timestamps written.
    keys: Vec<PipelineKey>,
    written: u32,
    period_ns: f32,
}

/// One dispatch's time.
#[derive(Clone, Copy, Debug)]
pub struct DispatchTime {
    pub key: PipelineKey,
    pub nanos: f64,
}

impl Profiler {
    /// Room for `capacity` dispatches per batch (at most 4095: a query set holds 4096
    /// timestamps); an error if the device was created without [`TIMESTAMP_FEATURES`].
    pub fn new(ctx: &GpuContext, capacity: u32) -> Result<Self> {
        let capacity = capacity.min(4095);
        if !ctx.features.contains(TIMESTAMP_FEATURES) {
            return Err(Error::GpuUnavailable(
                "the device has no timestamp queries inside compute passes (profiling needs them)".into(),
            ));
        }
        let count = capacity + 1;
        let query_set = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("brasa profiler"),
            ty: wgpu::QueryType::Timestamp,
            count,
        });
        let bytes = count as u64 * 8;
        let resolved = ctx.create_buffer(
            "brasa profiler resolve",
            bytes,
            wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
        )?;
        let readback = ctx.create_buffer(
            "brasa profiler readback",
            bytes,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        )?;
        let period_ns = ctx.queue.get_timestamp_period();
        Ok(Profiler { query_set, capacity, resolved, readback, keys: Vec::new(), written: 0, period_ns })
    }

    /// Records the start, before the batch's first dispatch.
    pub(super) fn start(&mut self, pass: &mut wgpu::ComputePass<'static>) {
        pass.write_timestamp(&self.query_set, 0);
        self.written = 1;
        self.keys.clear();
    }

    /// Records the timestamp that follows dispatch `key` (past the capacity, nothing).
    pub(super) fn after_dispatch(&mut self, pass: &mut wgpu::ComputePass<'static>, key: PipelineKey) {
        if self.written > 0 && self.written <= self.capacity {
            pass.write_timestamp(&self.query_set, self.written);
            self.written += 1;
            self.keys.push(key);
        }
    }

    /// Before the batch's encoder finishes: the queries go to a mappable buffer.
    pub(super) fn resolve(&self, encoder: &mut wgpu::CommandEncoder) {
        if self.written > 0 {
            encoder.resolve_query_set(&self.query_set, 0..self.written, &self.resolved, 0);
            encoder.copy_buffer_to_buffer(&self.resolved, 0, &self.readback, 0, self.written as u64 * 8);
        }
    }

    /// After the batch was submitted: each dispatch's time, in recording order; the profiler is
    /// then ready for the next batch.
    pub async fn read(&mut self, ctx: &GpuContext) -> Result<Vec<DispatchTime>> {
        let n = self.written;
        self.written = 0;
        let keys = std::mem::take(&mut self.keys);
        if n == 0 {
            return Ok(Vec::new());
        }
        let bytes = ctx.map_read(&self.readback, n as u64 * 8, None).await?;
        let ticks: Vec<u64> =
            bytes.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect();
        Ok(keys
            .into_iter()
            .zip(ticks.windows(2))
            .map(|(key, t)| DispatchTime {
                key,
                nanos: t[1].saturating_sub(t[0]) as f64 * self.period_ns as f64,
            })
            .collect())
    }
}

impl<'a> Batch<'a> {
    /// Time every dispatch of this batch with `profiler` (read it after [`Batch::submit`]).
    pub fn profile(mut self, profiler: &'a mut Profiler) -> Self {
        self.profiler = Some(profiler);
        self
    }
}
