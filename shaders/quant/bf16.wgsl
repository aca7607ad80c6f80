// BF16 weights: two bfloat16 halves per u32 word (element 2i in the low half), rows padded to an
// even number of elements. A bfloat16 is the top half of an f32, so decoding is a shift and a
// bitcast (no f16 support needed). See f32.wgsl for the shared dequant8 contract.

// The two elements of `word` as f32, the low half first.
fn bf16_pair(word: u32) -> vec2<f32> {
    return bitcast<vec2<f32>>(vec2<u32>(word << 16u, word & 0xFFFF0000u));
}

fn dequant8(row_word: u32, g: u32) -> mat2x4<f32> {
    let b = row_word + g * 4u;
    let p0 = bf16_pair(w[b]);
    let p1 = bf16_pair(w[b + 1u]);
    let p2 = bf16_pair(w[b + 2u]);
    let p3 = bf16_pair(w[b + 3u]);
    return mat2x4<f32>(vec4<f32>(p0, p1), vec4<f32>(p2, p3));
}
