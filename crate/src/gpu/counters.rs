//! Counters of GPU work and allocations: the hardware-independent figures of the benchmarks
//! (dispatches and weight bytes per decoded token, objects created per token).
//!
//! Plain relaxed atomics in the [`super::GpuContext`]; they only ever grow. Take a snapshot
//! ([`super::GpuContext::counters`]) before and after the work and subtract
//! ([`GpuCounters::since`]).

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of the counters. Monotonic: every field only grows over a context's life.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GpuCounters {
    /// Buffers created (weights, activations, uniform-arena chunks, readback staging).
    pub buffers_created: u64,
    /// Bytes of those buffers.
    pub buffer_bytes_created: u64,
    /// Bind groups created.
    pub bind_groups_created: u64,
    /// Compute dispatches submitted (copies are not dispatches).
    pub dispatches: u64,
    /// Bytes the submitted kernels read from weight buffers, in the GPU layout (see
    /// `kernels::Batch` for what each kernel counts).
    pub weight_bytes_read: u64,
    /// Queue submissions carrying command buffers.
    pub submits: u64,
}

impl GpuCounters {
    /// What happened between `earlier` and `self` (field by field; never negative).
    pub fn since(&self, earlier: &GpuCounters) -> GpuCounters {
        GpuCounters {
            buffers_created: self.buffers_created.saturating_sub(earlier.buffers_created),
            buffer_bytes_created: self.buffer_bytes_created.saturating_sub(earlier.buffer_bytes_created),
            bind_groups_created: self.bind_groups_created.saturating_sub(earlier.bind_groups_created),
            dispatches: self.dispatches.saturating_sub(earlier.dispatches),
            weight_bytes_read: self.weight_bytes_read.saturating_sub(earlier.weight_bytes_read),
            submits: self.submits.saturating_sub(earlier.submits),
        }
    }
}

/// The live counters inside a context.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    buffers_created: AtomicU64,
    buffer_bytes_created: AtomicU64,
    bind_groups_created: AtomicU64,
    dispatches: AtomicU64,
    weight_bytes_read: AtomicU64,
    submits: AtomicU64,
}

fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn buffer_created(&self, bytes: u64) {
        add(&self.buffers_created, 1);
        add(&self.buffer_bytes_created, bytes);
    }

    pub(crate) fn bind_group_created(&self) {
        add(&self.bind_groups_created, 1);
    }

    /// One submit carrying `dispatches` dispatches whose kernels read `weight_bytes`.
    pub(crate) fn submitted(&self, dispatches: u64, weight_bytes: u64) {
        add(&self.submits, 1);
        add(&self.dispatches, dispatches);
        add(&self.weight_bytes_read, weight_bytes);
    }

    pub(crate) fn snapshot(&self) -> GpuCounters {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        GpuCounters {
            buffers_created: get(&self.buffers_created),
            buffer_bytes_created: get(&self.buffer_bytes_created),
            bind_groups_created: get(&self.bind_groups_created),
            dispatches: get(&self.dispatches),
            weight_bytes_read: get(&self.weight_bytes_read),
            submits: get(&self.submits),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_accumulate_and_differences_are_per_field() {
        let c = Counters::default();
        c.buffer_created(100);
        let before = c.snapshot();
        c.buffer_created(28);
        c.bind_group_created();
        c.bind_group_created();
        c.submitted(5, 1000);
        c.submitted(0, 0);
        let d = c.snapshot().since(&before);
        assert_eq!(
            d,
            GpuCounters {
                buffers_created: 1,
                buffer_bytes_created: 28,
                bind_groups_created: 2,
                dispatches: 5,
                weight_bytes_read: 1000,
                submits: 2,
            }
        );
        assert_eq!(c.snapshot().buffer_bytes_created, 128);
        // An older snapshot minus a newer one saturates at zero instead of wrapping.
        assert_eq!(before.since(&c.snapshot()), GpuCounters::default());
    }
}
