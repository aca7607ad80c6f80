// The plain output of matvec.wgsl and matmul.wgsl: each dot product is an element of y.
// store4(o, n, s): the dot products s of 4 consecutive rows, of which only the first n (≥ 1)
// exist, go to y[o .. o + min(n, 4)].

fn store4(o: u32, n: u32, s: vec4<f32>) {
    y[o] = s.x;
    if (n > 1u) { y[o + 1u] = s.y; }
    if (n > 2u) { y[o + 2u] = s.z; }
    if (n > 3u) { y[o + 3u] = s.w; }
}
