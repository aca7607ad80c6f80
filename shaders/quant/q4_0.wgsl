// Q4_0 GPU block (32 elements, 5 words): word 0 = d (f16, low half); words 1..4 = qs[16].
// Element j < 16 is the low nibble of qs[j], element j + 16 its high nibble; value d * (q - 8).
// See f32.wgsl for the shared dequant8 contract.

fn dequant8(row_word: u32, g: u32) -> array<f32, 8> {
    let base = row_word + (g / 4u) * 5u;
    let sub = g % 4u;
    let d = unpack2x16float(w[base]).x;
    let q = base + 1u + (sub % 2u) * 2u; // qs bytes 0..7 or 8..15
    let shift = (sub / 2u) * 4u; // low nibbles for elements 0..15, high for 16..31
    var out: array<f32, 8>;
    for (var i = 0u; i < 2u; i++) {
        let word = w[q + i] >> shift;
        for (var j = 0u; j < 4u; j++) {
            out[i * 4u + j] = d * (f32((word >> (8u * j)) & 0xFu) - 8.0);
        }
    }
    return out;
}
