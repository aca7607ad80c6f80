// F32 weights: one element per u32 word, row r at word r * cols.
// Every block-format include defines the same function, used by matmul.wgsl, matvec.wgsl and
// embed.wgsl:
//   dequant8(row_word, g) -> elements [8g, 8g + 8) of the row whose first word is `row_word`,
//   as a mat2x4<f32>: column 0 holds elements 0..3, column 1 elements 4..7,
// reading the kernel's weight binding `w: array<u32>`. Rows of F32/F16 may end inside the last
// group: callers mask elements past `cols` (the words read there belong to the next row).
// The includes decode whole words with vector ops and no private arrays, so that compilers keep
// everything in registers.

fn dequant8(row_word: u32, g: u32) -> mat2x4<f32> {
    let b = row_word + g * 8u;
    let lo = vec4<u32>(w[b], w[b + 1u], w[b + 2u], w[b + 3u]);
    let hi = vec4<u32>(w[b + 4u], w[b + 5u], w[b + 6u], w[b + 7u]);
    return mat2x4<f32>(bitcast<vec4<f32>>(lo), bitcast<vec4<f32>>(hi));
}
