// The plain input of matvec.wgsl: the vector x as it is in its buffer.
// Provides x4() and load_input() (nothing to prepare here); see add_norm.wgsl for the other.

// Activations: [cols] f32.
@group(0) @binding(2) var<storage, read> x: array<f32>;

fn x4(i: u32) -> vec4<f32> {
    return vec4<f32>(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
}

fn load_input(lid: u32, first_workgroup: bool) {}
