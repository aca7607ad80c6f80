// Q6_K GPU layout (blocks of 256 elements in pairs of 105 words): word 0 = d of the pair's first
// block (low half) and second block (high half); then each block's body of 52 words, the first
// block's at word 1, the second's at word 53. A row with an odd number of blocks ends with a
// single block of 53 words (d in the low half of word 0). A body: words 0..31 = ql[128];
// words 32..47 = qh[64]; words 48..51 = scales[16] (i8).
// Element e: half n = e / 128, quarter k = (e % 128) / 32, l = e % 32.
//   low 4 bits:  ql[64n + 32(k % 2) + l] >> (4 (k / 2))
//   high 2 bits: qh[32n + l] >> (2k)
//   scale:       scales[8n + l / 16 + 2k]
// Value d * scale * (q - 32). See f32.wgsl for the shared dequant8 contract.

// Four 6-bit values: the low nibbles of the bytes of `lw`, bits 4..5 from the low two bits of
// the bytes of `hw`.
fn q6k_quad(lw: u32, hw: u32) -> vec4<f32> {
    let sh = vec4<u32>(0u, 8u, 16u, 24u);
    let lo = (vec4<u32>(lw) >> sh) & vec4<u32>(0xFu);
    let hi = ((vec4<u32>(hw) >> sh) & vec4<u32>(3u)) << vec4<u32>(4u);
    return vec4<f32>(lo | hi);
}

fn dequant8(row_word: u32, g: u32) -> mat2x4<f32> {
    let blk = g / 32u;
    let pair = row_word + (blk / 2u) * 105u;
    let j = blk % 2u; // which block of the pair
    let body = pair + 1u + j * 52u;
    let e0 = (g % 32u) * 8u;
    let n = e0 / 128u;
    let k = (e0 % 128u) / 32u;
    let l0 = e0 % 32u;
    let d = unpack2x16float(w[pair] >> (16u * j)).x;
    let si = n * 8u + l0 / 16u + k * 2u;
    let sc = f32(bitcast<i32>(w[body + 48u + si / 4u] << (24u - 8u * (si % 4u))) >> 24u);
    let scale = d * sc;
    let ql = body + (n * 64u + (k % 2u) * 32u + l0) / 4u;
    let qh = body + 32u + (n * 32u + l0) / 4u;
    let lshift = (k / 2u) * 4u;
    let hshift = k * 2u;
    let lo = q6k_quad(w[ql] >> lshift, w[qh] >> hshift) - 32.0;
    let hi = q6k_quad(w[ql + 1u] >> lshift, w[qh + 1u] >> hshift) - 32.0;
    return mat2x4<f32>(scale * lo, scale * hi);
}
