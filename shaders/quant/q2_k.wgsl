// Q2_K GPU block (256 elements, 21 words): word 0 = d (low half), dmin (high half);
// words 1..4 = scales[16] (sub-block s of 16 elements: scale = low nibble, min = high nibble);
// words 5..20 = qs[64].
// Element e: half n = e / 128, k = (e % 128) / 32, l = e % 32: q = (qs[32n + l] >> 2k) & 3.
// Value d * scale[s] * q - dmin * min[s], s = e / 16. See f32.wgsl for the shared dequant8
// contract.

// Four 2-bit values: the low two bits of the bytes of `word`, byte 0 first.
fn q2k_crumbs(word: u32) -> vec4<f32> {
    return vec4<f32>((vec4<u32>(word) >> vec4<u32>(0u, 8u, 16u, 24u)) & vec4<u32>(3u));
}

fn dequant8(row_word: u32, g: u32) -> mat2x4<f32> {
    let base = row_word + (g / 32u) * 21u;
    let e0 = (g % 32u) * 8u;
    let n = e0 / 128u;
    let k = (e0 % 128u) / 32u;
    let l0 = e0 % 32u;
    let s = e0 / 16u; // the 8 elements lie in one sub-block
    let sc = (w[base + 1u + s / 4u] >> (8u * (s % 4u))) & 0xFFu;
    let dm = unpack2x16float(w[base]);
    let scale = dm.x * f32(sc & 0xFu);
    let offset = dm.y * f32(sc >> 4u);
    let q = base + 5u + (n * 32u + l0) / 4u;
    let shift = k * 2u;
    let lo = q2k_crumbs(w[q] >> shift);
    let hi = q2k_crumbs(w[q + 1u] >> shift);
    return mat2x4<f32>(scale * lo - offset, scale * hi - offset);
}
