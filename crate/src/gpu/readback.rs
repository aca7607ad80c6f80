//! Reading GPU buffers back, without blocking on the web.
//!
//! A read copies the range into a MAP_READ staging buffer, submits, and awaits `map_async`
//! through a tiny one-shot channel. Natively the device is polled until the map completes; on
//! wasm32 the browser completes it and the future wakes.

use super::GpuContext;
use crate::error::{Error, Result};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// Poll `fut` once. If it is ready return its output; otherwise (only on the web, where wgpu's
/// futures are promises) hand its eventual output to `later` and return `None`.
pub(crate) fn resolve_now_or_later<F, T>(fut: F, later: impl FnOnce(T) + 'static) -> Option<T>
where
    F: Future<Output = T> + 'static,
    T: 'static,
{
    let mut fut = Box::pin(fut);
    let mut cx = Context::from_waker(Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => {
            #[cfg(target_arch = "wasm32")]
            wasm_bindgen_futures::spawn_local(async move { later(fut.await) });
            #[cfg(not(target_arch = "wasm32"))]
            drop(later);
            None
        }
    }
}

/// A one-shot channel: the `map_async` callback sends, the reader awaits.
struct Shared<T> {
    value: Option<T>,
    waker: Option<Waker>,
}

struct Receiver<T>(Arc<Mutex<Shared<T>>>);

fn oneshot<T: Send + 'static>() -> (impl FnOnce(T) + Send + 'static, Receiver<T>) {
    let shared = Arc::new(Mutex::new(Shared { value: None, waker: None }));
    let tx = shared.clone();
    let send = move |v: T| {
        let mut s = tx.lock().unwrap_or_else(|p| p.into_inner());
        s.value = Some(v);
        if let Some(w) = s.waker.take() {
            w.wake();
        }
    };
    (send, Receiver(shared))
}

impl<T> Future for Receiver<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match s.value.take() {
            Some(v) => Poll::Ready(v),
            None => {
                s.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Reads up to this many bytes go through a pooled staging buffer of this size.
const SMALL_READ: u64 = 256;

impl GpuContext {
    /// Copy `bytes` bytes of `buf` starting at byte `offset` back to the CPU. `offset` must be a
    /// multiple of 4; `bytes` is rounded up to 4 for the copy and truncated afterwards.
    pub async fn read_buffer(&self, buf: &wgpu::Buffer, offset: u64, bytes: u64) -> Result<Vec<u8>> {
        self.check()?;
        if !offset.is_multiple_of(4) {
            return Err(Error::InvalidArgument(format!("read offset {offset} is not a multiple of 4")));
        }
        let padded = bytes.div_ceil(4) * 4;
        if offset.checked_add(padded).is_none_or(|end| end > buf.size()) {
            return Err(Error::InvalidArgument(format!(
                "read of {bytes} bytes at {offset} is past the end of a {}-byte buffer",
                buf.size()
            )));
        }
        if bytes == 0 {
            return Ok(Vec::new());
        }
        // Small reads (the sampled token of every decode step) reuse pooled staging buffers so
        // that decoding creates no buffer per token.
        let pooled =
            if padded <= SMALL_READ { self.staging_pool.lock().ok().and_then(|mut p| p.pop()) } else { None };
        let staging = match pooled {
            Some(b) => b,
            None => self.create_buffer(
                "brasa readback",
                if padded <= SMALL_READ { SMALL_READ } else { padded },
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            )?,
        };
        let mut enc = self.device.create_command_encoder(&Default::default());
        enc.copy_buffer_to_buffer(buf, offset, &staging, 0, padded);
        let index = self.queue.submit([enc.finish()]);
        self.counters.submitted(0, 0);
        let mut out = self.map_read(&staging, padded, Some(index)).await;
        // A staging buffer whose map failed may still be pending; it is not reused.
        if let Ok(out) = out.as_mut() {
            out.truncate(bytes as usize);
            if staging.size() == SMALL_READ {
                if let Ok(mut pool) = self.staging_pool.lock() {
                    pool.push(staging);
                }
            }
        }
        out
    }

    /// Map the first `bytes` bytes of a MAP_READ `staging` buffer, whose contents a submitted
    /// command buffer copies in, and return them; the buffer is unmapped again, ready for the
    /// next copy. Natively this waits for `after` (that submission and the ones before it)
    /// only, so later submissions keep the GPU busy meanwhile; on the web the browser resolves
    /// the map when the GPU is done.
    pub async fn map_read(
        &self,
        staging: &wgpu::Buffer,
        bytes: u64,
        after: Option<wgpu::SubmissionIndex>,
    ) -> Result<Vec<u8>> {
        let (send, recv) = oneshot();
        staging.slice(..bytes).map_async(wgpu::MapMode::Read, send);
        // A failure here is most often the device being lost meanwhile: report that first.
        let failed = |what: String| self.check().err().unwrap_or(Error::Gpu(what));
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::Wait { submission_index: after, timeout: None })
            .map_err(|e| failed(format!("device poll failed: {e}")))?;
        #[cfg(target_arch = "wasm32")]
        drop(after);
        recv.await.map_err(|e| failed(format!("buffer map failed: {e}")))?;
        let out = {
            let view = staging
                .slice(..bytes)
                .get_mapped_range()
                .map_err(|e| failed(format!("mapped range: {e:?}")))?;
            view.to_vec()
        };
        staging.unmap();
        self.check()?;
        Ok(out)
    }

    /// Copy the first `bytes` bytes of each buffer back to the CPU in one round trip (one
    /// staging buffer, one submit, one map): for reading many small results at once, where a
    /// map each would wait for the browser each time (Firefox answers maps on a ~100 ms timer).
    pub async fn read_buffers(&self, reads: &[(&wgpu::Buffer, u64)]) -> Result<Vec<Vec<u8>>> {
        self.check()?;
        let mut offsets = Vec::with_capacity(reads.len());
        let mut total = 0u64;
        for &(buf, bytes) in reads {
            let padded = bytes.div_ceil(4) * 4;
            if padded > buf.size() {
                return Err(Error::InvalidArgument(format!(
                    "read of {bytes} bytes is past the end of a {}-byte buffer",
                    buf.size()
                )));
            }
            offsets.push(total);
            total += padded;
        }
        if total == 0 {
            return Ok(reads.iter().map(|_| Vec::new()).collect());
        }
        let staging = self.create_buffer(
            "brasa readback",
            total,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        )?;
        let mut enc = self.device.create_command_encoder(&Default::default());
        for (&(buf, bytes), &at) in reads.iter().zip(&offsets) {
            if bytes > 0 {
                enc.copy_buffer_to_buffer(buf, 0, &staging, at, bytes.div_ceil(4) * 4);
            }
        }
        let index = self.queue.submit([enc.finish()]);
        self.counters.submitted(0, 0);
        let all = self.map_read(&staging, total, Some(index)).await?;
        Ok(reads
            .iter()
            .zip(&offsets)
            .map(|(&(_, bytes), &at)| all[at as usize..(at + bytes) as usize].to_vec())
            .collect())
    }

    /// Read `n` f32 values starting at element `offset_elems`.
    pub async fn read_f32(&self, buf: &wgpu::Buffer, offset_elems: u64, n: u64) -> Result<Vec<f32>> {
        let bytes = self.read_buffer(buf, offset_elems * 4, n * 4).await?;
        Ok(bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }

    /// Read `n` u32 values starting at element `offset_elems`.
    pub async fn read_u32(&self, buf: &wgpu::Buffer, offset_elems: u64, n: u64) -> Result<Vec<u32>> {
        let bytes = self.read_buffer(buf, offset_elems * 4, n * 4).await?;
        Ok(bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect())
    }

    /// Upload plain values (f32 activations, u32 token ids) into a buffer at a byte offset.
    pub fn write_buffer(&self, buf: &wgpu::Buffer, offset: u64, data: &[u8]) -> Result<()> {
        self.check()?;
        if !offset.is_multiple_of(4) || !data.len().is_multiple_of(4) {
            return Err(Error::InvalidArgument("buffer writes must be 4-byte aligned".into()));
        }
        if offset.checked_add(data.len() as u64).is_none_or(|end| end > buf.size()) {
            return Err(Error::InvalidArgument(format!(
                "write of {} bytes at {offset} is past the end of a {}-byte buffer",
                data.len(),
                buf.size()
            )));
        }
        self.queue.write_buffer(buf, offset, data);
        Ok(())
    }
}
