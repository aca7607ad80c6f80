// F16 weights: two halves per u32 word (element 2i in the low half), rows padded to an even
// number of elements. See f32.wgsl for the shared dequant8 contract.

fn dequant8(row_word: u32, g: u32) -> mat2x4<f32> {
    let b = row_word + g * 4u;
    let p0 = unpack2x16float(w[b]);
    let p1 = unpack2x16float(w[b + 1u]);
    let p2 = unpack2x16float(w[b + 2u]);
    let p3 = unpack2x16float(w[b + 3u]);
    return mat2x4<f32>(vec4<f32>(p0, p1), vec4<f32>(p2, p3));
}
