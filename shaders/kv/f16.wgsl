// The K/V cache in f16 (half the memory and the attention's reads; llama.cpp's default too):
// each u32 word holds dimensions 2i (low half) and 2i + 1 (high half) of one position, packed
// with pack2x16float, so no `shader-f16` is needed. K is position fastest,
// [n_kv_head, head_dim / 2, capacity] words; V is [capacity, n_kv_head, head_dim / 2] words.
// Same functions as kv/f32.wgsl.

// K cache: [n_kv_head, head_dim / 2, capacity] u32 (f16 pairs).
@group(0) @binding(5) var<storage, read_write> k_cache: array<u32>;
// V cache: [capacity, n_kv_head, head_dim / 2] u32 (f16 pairs).
@group(0) @binding(6) var<storage, read_write> v_cache: array<u32>;

struct KvShape {
    n_kv_head: u32,
    head_dim: u32, // even
    capacity: u32, // positions
}

// Dimensions 2i and 2i + 1 of the key of kv head `kvh` at position `j`.
fn k_pair(s: KvShape, kvh: u32, i: u32, j: u32) -> vec2<f32> {
    return unpack2x16float(k_cache[(kvh * s.head_dim / 2u + i) * s.capacity + j]);
}

fn store_k_pair(s: KvShape, kvh: u32, i: u32, j: u32, v: vec2<f32>) {
    k_cache[(kvh * s.head_dim / 2u + i) * s.capacity + j] = pack2x16float(v);
}

// Dimensions 2i and 2i + 1 of the value of kv head `kvh` at position `j`.
fn v_pair(s: KvShape, kvh: u32, i: u32, j: u32) -> vec2<f32> {
    return unpack2x16float(v_cache[(j * s.n_kv_head + kvh) * (s.head_dim / 2u) + i]);
}

fn store_v_pair(s: KvShape, kvh: u32, i: u32, j: u32, v: vec2<f32>) {
    v_cache[(j * s.n_kv_head + kvh) * (s.head_dim / 2u) + i] = pack2x16float(v);
}

// `v` as the cache stores it (for values used straight from registers next to cached ones).
fn kv_round(v: vec2<f32>) -> vec2<f32> {
    return unpack2x16float(pack2x16float(v));
}
