// F16 weights: two halves per u32 word (element 2i in the low half), rows padded to an even
// number of elements. See f32.wgsl for the shared dequant8 contract.

fn dequant8(row_word: u32, g: u32) -> array<f32, 8> {
    var out: array<f32, 8>;
    let base = row_word + g * 4u;
    for (var i = 0u; i < 4u; i++) {
        let pair = unpack2x16float(w[base + i]);
        out[2u * i] = pair.x;
        out[2u * i + 1u] = pair.y;
    }
    return out;
}
