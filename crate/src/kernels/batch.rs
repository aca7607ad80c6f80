//! [`Batch`]: a command encoder, an open compute pass and a uniform arena.
//!
//! Each op's uniform struct goes into a 256-byte-aligned slot of an arena chunk (a 64 KiB
//! uniform buffer); the chunks are written once, just before the batch is submitted, so no op
//! needs a buffer of its own. Dispatches share one compute pass until a copy needs the encoder.
//!
//! The batch also counts what it records for [`crate::gpu::GpuCounters`]: dispatches and the
//! bytes their kernels read from weight buffers are added to the context's counters when the
//! batch is submitted; bind groups when they are created. Weight bytes are counted by the ops
//! that bind a weight, as the bytes of weight rows their workgroups load (GPU layout):
//! a mat-vec reads every row it computes once; a tiled matmul reads them once per block of
//! tokens; an embedding reads one row per token; a norm reads its weight vector once per row.

use super::bind_cache::{BindGroupCache, BindKey};
use super::profile::Profiler;
use super::{Kernels, PipelineKey};
use crate::error::{Error, Result};
use crate::gpu::{GpuContext, OwnedBuffer};

/// Bytes per arena chunk (256 slots).
const CHUNK_BYTES: u64 = 64 * 1024;
/// Slot alignment: WebGPU's `minUniformBufferOffsetAlignment` is at most 256.
const SLOT_ALIGN: u64 = 256;

/// What [`Batch::submit`] handed to the queue.
#[derive(Debug)]
pub struct Submitted {
    /// The submission (for waiting on it alone natively, see [`GpuContext::map_read`]); `None`
    /// when the batch was empty.
    pub index: Option<wgpu::SubmissionIndex>,
    /// When the command buffer was finished, just before `queue.submit`: the end of the host
    /// work brasa does for the batch. (`queue.submit` itself is the driver's; lavapipe blocks in
    /// it while an earlier submission still runs, which is not host work.)
    pub encoded_at: web_time::Instant,
}

/// Ops recorded for one submit. Ops never fail on their own: the first error is kept and
/// returned by [`Batch::submit`] (which then submits nothing).
pub struct Batch<'a> {
    pub(super) kernels: &'a Kernels,
    pub(super) ctx: &'a GpuContext,
    encoder: Option<wgpu::CommandEncoder>,
    pass: Option<wgpu::ComputePass<'static>>,
    /// Arena chunks with the bytes to upload into each.
    arena: Vec<(OwnedBuffer, Vec<u8>)>,
    error: Option<Error>,
    /// Dispatches recorded so far.
    dispatches: u64,
    /// Bytes of weight buffers the recorded kernels read.
    weight_bytes: u64,
    /// Where bind groups are looked up before being created (see [`Batch::reuse_bind_groups`]).
    bind_groups: Option<&'a mut BindGroupCache>,
    /// Times every dispatch when set (see [`Batch::profile`]).
    pub(super) profiler: Option<&'a mut Profiler>,
}

impl<'a> Batch<'a> {
    pub(super) fn new(kernels: &'a Kernels, ctx: &'a GpuContext) -> Self {
        let encoder =
            ctx.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("brasa batch") });
        Self {
            kernels,
            ctx,
            encoder: Some(encoder),
            pass: None,
            arena: Vec::new(),
            error: None,
            dispatches: 0,
            weight_bytes: 0,
            bind_groups: None,
            profiler: None,
        }
    }

    /// Look bind groups up in `cache` (and add new ones to it) instead of creating one per
    /// dispatch: a batch that records the same ops as an earlier one creates none.
    pub fn reuse_bind_groups(mut self, cache: &'a mut BindGroupCache) -> Self {
        self.bind_groups = Some(cache);
        self
    }

    /// Upload the uniforms, finish the encoder and submit it. Returns the first error recorded
    /// by an op or reported by the device.
    pub fn submit(mut self) -> Result<Submitted> {
        self.pass = None;
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.ctx.check()?;
        for (buf, bytes) in &self.arena {
            self.ctx.queue.write_buffer(buf, 0, bytes);
        }
        let mut index = None;
        let mut encoded_at = web_time::Instant::now();
        if let Some(mut enc) = self.encoder.take() {
            if let Some(p) = &self.profiler {
                p.resolve(&mut enc);
            }
            let commands = enc.finish();
            encoded_at = web_time::Instant::now();
            index = Some(self.ctx.queue.submit([commands]));
            self.ctx.counters.submitted(self.dispatches, self.weight_bytes);
        }
        self.ctx.check()?;
        Ok(Submitted { index, encoded_at })
    }

    /// Dispatches recorded so far in this batch.
    pub fn dispatches(&self) -> u64 {
        self.dispatches
    }

    /// Note that the op just recorded reads `bytes` bytes of weight buffers.
    pub(super) fn weight_read(&mut self, bytes: u64) {
        self.weight_bytes += bytes;
    }

    /// Record `e` unless an earlier error is already kept.
    pub(super) fn fail(&mut self, e: Error) {
        if self.error.is_none() {
            self.error = Some(e);
        }
    }

    /// Split `n` workgroups into an (x, y) grid within the per-dimension limit; kernels
    /// recover the linear index as `wid.x + wid.y * num_workgroups.x` and skip the excess.
    pub(super) fn grid2(&self, n: u64) -> Result<(u32, u32)> {
        let max = self.ctx.limits.max_compute_workgroups_per_dimension.max(1) as u64;
        let y = n.div_ceil(max).max(1);
        if y > max {
            return Err(Error::DeviceLimit {
                what: "workgroups of one dispatch".into(),
                needed: n,
                limit: max * max,
            });
        }
        Ok((n.div_ceil(y) as u32, y as u32))
    }

    /// Put `params` into the uniform arena; returns the chunk index and byte offset.
    fn uniform_slot(&mut self, params: &[u8]) -> Result<(usize, u64)> {
        let len = params.len() as u64;
        let need_new = match self.arena.last() {
            None => true,
            Some((_, bytes)) => (bytes.len() as u64).div_ceil(SLOT_ALIGN) * SLOT_ALIGN + len > CHUNK_BYTES,
        };
        if need_new {
            let buf = match self.kernels.take_arena_chunk() {
                Some(b) => b,
                None => self.ctx.create_buffer(
                    "brasa uniform arena",
                    CHUNK_BYTES,
                    wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
                )?,
            };
            self.arena.push((buf, Vec::with_capacity(CHUNK_BYTES as usize)));
        }
        let idx = self.arena.len() - 1;
        let bytes = &mut self.arena[idx].1;
        let offset = (bytes.len() as u64).div_ceil(SLOT_ALIGN) * SLOT_ALIGN;
        bytes.resize(offset as usize, 0);
        bytes.extend_from_slice(params);
        Ok((idx, offset))
    }

    /// Record one dispatch of `key` with `params` at binding 0 and `buffers` (whole-buffer
    /// storage bindings) at the given binding numbers.
    pub(super) fn dispatch<P: bytemuck::Pod>(
        &mut self,
        key: PipelineKey,
        params: &P,
        buffers: &[(u32, &wgpu::Buffer)],
        groups: (u32, u32, u32),
    ) {
        if self.error.is_some() || groups.0 == 0 || groups.1 == 0 || groups.2 == 0 {
            return;
        }
        let pipeline = match self.kernels.pipeline(self.ctx, key) {
            Ok(p) => p,
            Err(e) => return self.fail(e),
        };
        let (chunk, offset) = match self.uniform_slot(bytemuck::bytes_of(params)) {
            Ok(s) => s,
            Err(e) => return self.fail(e),
        };
        let bind_group =
            self.bind_group(key, &pipeline, chunk, offset, std::mem::size_of::<P>() as u64, buffers);
        let first = self.dispatches == 0;
        self.pass();
        let pass = self.pass.as_mut().expect("pass was just begun");
        if let (true, Some(p)) = (first, self.profiler.as_deref_mut()) {
            p.start(pass);
        }
        pass.set_pipeline(&pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(groups.0, groups.1, groups.2);
        if let Some(p) = self.profiler.as_deref_mut() {
            p.after_dispatch(pass, key);
        }
        self.dispatches += 1;
    }

    /// The bind group of one dispatch: found in the cache when the batch has one and the same
    /// bindings were seen before, else created (and counted).
    fn bind_group(
        &mut self,
        key: PipelineKey,
        pipeline: &wgpu::ComputePipeline,
        chunk: usize,
        offset: u64,
        size: u64,
        buffers: &[(u32, &wgpu::Buffer)],
    ) -> wgpu::BindGroup {
        let uniform = &self.arena[chunk].0;
        let cache_key = self.bind_groups.as_ref().map(|_| BindKey {
            pipeline: key,
            uniform: (**uniform).clone(),
            uniform_offset: offset,
            uniform_size: size,
            storage: buffers.iter().map(|(b, buf)| (*b, (*buf).clone())).collect(),
        });
        if let (Some(cache), Some(k)) = (self.bind_groups.as_mut(), cache_key.as_ref()) {
            if let Some(group) = cache.get(k) {
                return group;
            }
        }
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                buffer: uniform,
                offset,
                size: wgpu::BufferSize::new(size),
            }),
        }];
        entries.extend(
            buffers
                .iter()
                .map(|(b, buf)| wgpu::BindGroupEntry { binding: *b, resource: buf.as_entire_binding() }),
        );
        let group = self.ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        self.ctx.counters.bind_group_created();
        if let (Some(cache), Some(k)) = (self.bind_groups.as_mut(), cache_key) {
            cache.insert(k, group.clone());
        }
        group
    }

    /// The open compute pass, begun if needed.
    fn pass(&mut self) -> &mut wgpu::ComputePass<'static> {
        if self.pass.is_none() {
            let enc = self.encoder.as_mut().expect("encoder lives until submit");
            let pass = enc
                .begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes: None })
                .forget_lifetime();
            self.pass = Some(pass);
        }
        self.pass.as_mut().expect("pass was just set")
    }

    /// The encoder, with the compute pass ended (for copies).
    pub(super) fn encoder(&mut self) -> &mut wgpu::CommandEncoder {
        self.pass = None;
        self.encoder.as_mut().expect("encoder lives until submit")
    }

    /// Check that `buf` holds at least `bytes` bytes.
    pub(super) fn need(&mut self, what: &str, buf: &wgpu::Buffer, bytes: u64) -> bool {
        if buf.size() < bytes {
            self.fail(Error::InvalidArgument(format!(
                "{what}: buffer of {} bytes, needs {bytes}",
                buf.size()
            )));
            return false;
        }
        self.error.is_none()
    }
}

impl Drop for Batch<'_> {
    fn drop(&mut self) {
        self.pass = None;
        // Returned in reverse so that the next batch pops them in the same order: the same op
        // then lands in the same slot, and its cached bind group is found again.
        self.kernels.return_arena_chunks(self.arena.drain(..).rev().map(|(b, _)| b));
    }
}
