// F32 weights: one element per u32 word, row r at word r * cols.
// Every block-format include defines the same function, used by matmul.wgsl and embed.wgsl:
//   dequant8(row_word, g) -> elements [8g, 8g + 8) of the row whose first word is `row_word`,
// reading the kernel's weight binding `w: array<u32>`. Rows of F32/F16 may end inside the last
// group: callers mask elements past `cols` (the words read there belong to the next row).

fn dequant8(row_word: u32, g: u32) -> array<f32, 8> {
    var out: array<f32, 8>;
    let base = row_word + g * 8u;
    for (var i = 0u; i < 8u; i++) {
        out[i] = bitcast<f32>(w[base + i]);
    }
    return out;
}
