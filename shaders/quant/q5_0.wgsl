// Q5_0 GPU block (32 elements, 6 words): word 0 = d (f16, low half); word 1 = qh (bit e is the
// fifth bit of element e); words 2..5 = qs[16] (element j < 16: low nibble of qs[j], element
// j + 16: high nibble). Value d * (q - 16). See f32.wgsl for the shared dequant8 contract.

fn dequant8(row_word: u32, g: u32) -> array<f32, 8> {
    let base = row_word + (g / 4u) * 6u;
    let sub = g % 4u;
    let d = unpack2x16float(w[base]).x;
    let qh = w[base + 1u];
    let q = base + 2u + (sub % 2u) * 2u;
    let shift = (sub / 2u) * 4u;
    var out: array<f32, 8>;
    for (var i = 0u; i < 2u; i++) {
        let word = w[q + i] >> shift;
        for (var j = 0u; j < 4u; j++) {
            let e = sub * 8u + i * 4u + j;
            let v = ((word >> (8u * j)) & 0xFu) | (((qh >> e) & 1u) << 4u);
            out[i * 4u + j] = d * (f32(v) - 16.0);
        }
    }
    return out;
}
