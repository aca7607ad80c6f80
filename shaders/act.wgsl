// Activations of gated feed-forward layers, shared by elementwise.wgsl (gated_*) and the
// mat-mul's GLU output (store/glu.wgsl).

// GELU, tanh approximation (as llama.cpp's gelu for Gemma). tanh's argument is clamped because
// some GPU tanh implementations return NaN for large inputs; tanh(10) is 1 in f32.
fn gelu_tanh(v: f32) -> f32 {
    let inner = 0.7978845608028654 * (v + 0.044715 * v * v * v);
    return 0.5 * v * (1.0 + tanh(clamp(inner, -10.0, 10.0)));
}

fn silu(v: f32) -> f32 {
    return v / (1.0 + exp(-v));
}
