//! [`BindGroupCache`]: bind groups kept across batches that record the same ops.
//!
//! A decode step records the same ops on the same buffers every token; only the uniform
//! *contents* (position, sampling seed) change, not which arena slot holds them. Keyed by
//! everything a bind group binds, the groups of step t are found again at step t + 1, so a
//! steady decode creates no bind group at all (issue 5: "buffers and bind groups are reused
//! across steps, never re-created per token").
//!
//! The cache holds clones of the buffers it binds, so it belongs to whoever owns those buffers
//! (a session) and is dropped with it. A key match means identical bindings, so a hit is always
//! correct; the size cap only bounds memory when ops keep changing (e.g. prefill of many
//! different lengths).

use std::collections::HashMap;

use super::PipelineKey;

/// Entries kept before the cache is emptied. A gemma-3 decode step binds ~350 groups; prefill
/// and the LM head add a few hundred more.
const MAX_ENTRIES: usize = 4096;

/// What one bind group binds: the pipeline (its layout), the uniform slot and the storage
/// buffers with their binding numbers.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) struct BindKey {
    pub pipeline: PipelineKey,
    pub uniform: wgpu::Buffer,
    pub uniform_offset: u64,
    pub uniform_size: u64,
    pub storage: Vec<(u32, wgpu::Buffer)>,
}

/// Bind groups by [`BindKey`]; see the module doc.
#[derive(Default)]
pub struct BindGroupCache {
    groups: HashMap<BindKey, wgpu::BindGroup>,
    hits: u64,
}

impl BindGroupCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Bind groups found again instead of created, since the cache was made.
    pub fn hits(&self) -> u64 {
        self.hits
    }

    /// Cached groups.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    pub(super) fn get(&mut self, key: &BindKey) -> Option<wgpu::BindGroup> {
        let found = self.groups.get(key).cloned();
        if found.is_some() {
            self.hits += 1;
        }
        found
    }

    pub(super) fn insert(&mut self, key: BindKey, group: wgpu::BindGroup) {
        if self.groups.len() >= MAX_ENTRIES {
            self.groups.clear();
        }
        self.groups.insert(key, group);
    }
}
