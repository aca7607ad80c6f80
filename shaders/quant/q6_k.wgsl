// Q6_K GPU block (256 elements, 53 words): word 0 = d (f16, low half); words 1..32 = ql[128];
// words 33..48 = qh[64]; words 49..52 = scales[16] (i8).
// Element e: half n = e / 128, quarter k = (e % 128) / 32, l = e % 32.
//   low 4 bits:  ql[64n + 32(k % 2) + l] >> (4 (k / 2))
//   high 2 bits: qh[32n + l] >> (2k)
//   scale:       scales[8n + l / 16 + 2k]
// Value d * scale * (q - 32). See f32.wgsl for the shared dequant8 contract.

fn dequant8(row_word: u32, g: u32) -> array<f32, 8> {
    let base = row_word + (g / 32u) * 53u;
    let e0 = (g % 32u) * 8u;
    let n = e0 / 128u;
    let k = (e0 % 128u) / 32u;
    let l0 = e0 % 32u;
    let d = unpack2x16float(w[base]).x;
    let si = n * 8u + l0 / 16u + k * 2u;
    let sc = f32(bitcast<i32>(w[base + 49u + si / 4u] << (24u - 8u * (si % 4u))) >> 24u);
    let scale = d * sc;
    let ql = base + 1u + (n * 64u + (k % 2u) * 32u + l0) / 4u;
    let qh = base + 33u + (n * 32u + l0) / 4u;
    let lshift = (k / 2u) * 4u;
    let hshift = k * 2u;
    var out: array<f32, 8>;
    for (var i = 0u; i < 2u; i++) {
        let lw = w[ql + i] >> lshift;
        let hw = w[qh + i] >> hshift;
        for (var j = 0u; j < 4u; j++) {
            let v = ((lw >> (8u * j)) & 0xFu) | (((hw >> (8u * j)) & 3u) << 4u);
            out[i * 4u + j] = scale * (f32(v) - 32.0);
        }
    }
    return out;
}
