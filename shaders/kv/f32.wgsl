// The K/V cache in f32 (exact). K is position fastest, [n_kv_head, head_dim, capacity], so that
// consecutive keys are consecutive addresses; V is [capacity, n_kv_head, head_dim]. kv/f16.wgsl
// holds the same values in half the bytes, behind the same functions: the attention kernels
// read and write dimension pairs (2i, 2i + 1) of one position through them.

// K cache: [n_kv_head, head_dim, capacity] f32.
@group(0) @binding(5) var<storage, read_write> k_cache: array<f32>;
// V cache: [capacity, n_kv_head, head_dim] f32.
@group(0) @binding(6) var<storage, read_write> v_cache: array<f32>;

struct KvShape {
    n_kv_head: u32,
    head_dim: u32, // even
    capacity: u32, // positions
}

// Dimensions 2i and 2i + 1 of the key of kv head `kvh` at position `j`.
fn k_pair(s: KvShape, kvh: u32, i: u32, j: u32) -> vec2<f32> {
    let at = (kvh * s.head_dim + 2u * i) * s.capacity + j;
    return vec2<f32>(k_cache[at], k_cache[at + s.capacity]);
}

fn store_k_pair(s: KvShape, kvh: u32, i: u32, j: u32, v: vec2<f32>) {
    let at = (kvh * s.head_dim + 2u * i) * s.capacity + j;
    k_cache[at] = v.x;
    k_cache[at + s.capacity] = v.y;
}

// Dimensions 2i and 2i + 1 of the value of kv head `kvh` at position `j`.
fn v_pair(s: KvShape, kvh: u32, i: u32, j: u32) -> vec2<f32> {
    let at = (j * s.n_kv_head + kvh) * s.head_dim + 2u * i;
    return vec2<f32>(v_cache[at], v_cache[at + 1u]);
}

fn store_v_pair(s: KvShape, kvh: u32, i: u32, j: u32, v: vec2<f32>) {
    let at = (j * s.n_kv_head + kvh) * s.head_dim + 2u * i;
    v_cache[at] = v.x;
    v_cache[at + 1u] = v.y;
}

// `v` as the cache stores it (for values used straight from registers next to cached ones).
fn kv_round(v: vec2<f32>) -> vec2<f32> {
    return v;
}
