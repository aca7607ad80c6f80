// The gated (GLU) output of matvec.wgsl and matmul.wgsl over a stacked gate/up weight
// (`model::stacked`): its rows come in quads (gate 2j, gate 2j + 1, up 2j, up 2j + 1), so the
// 4 dot products a kernel holds for rows 4j .. 4j + 4 give act[2j] and act[2j + 1] with no other
// invocation's help: act = glu_act(gate) · up. Output element o of the stacked rows (o a
// multiple of 4; the stacked weight has a multiple of 4 rows and its parts start at one, so n
// is at least 4) is act element o / 2 — also across tokens, since a token's stride of stacked
// rows is twice its stride of act elements.
// Composed after act.wgsl and a one-line `fn glu_act(v: f32) -> f32` naming the activation.

fn store4(o: u32, n: u32, s: vec4<f32>) {
    let h = o / 2u;
    y[h] = glu_act(s.x) * s.z;
    y[h + 1u] = glu_act(s.y) * s.w;
}
