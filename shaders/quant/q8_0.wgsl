// Q8_0 GPU block (32 elements, 9 words): word 0 = d (f16, low half); words 1..8 = qs[32] (i8).
// Value d * q. See f32.wgsl for the shared dequant8 contract.

fn dequant8(row_word: u32, g: u32) -> array<f32, 8> {
    let base = row_word + (g / 4u) * 9u;
    let d = unpack2x16float(w[base]).x;
    let q = base + 1u + (g % 4u) * 2u;
    var out: array<f32, 8>;
    for (var i = 0u; i < 2u; i++) {
        let word = w[q + i];
        for (var j = 0u; j < 4u; j++) {
            // Sign-extend byte j: move it to the top, then arithmetic shift back down.
            out[i * 4u + j] = d * f32(bitcast<i32>(word << (24u - 8u * j)) >> 24u);
        }
    }
    return out;
}
