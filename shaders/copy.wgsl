// dst[i] = src[i] for i < n: a plain copy of n vec4<u32> (16-byte) elements. The benchmark's
// bandwidth yardstick (the "roofline"): what the device achieves just moving bytes, to which
// the mat-vec kernels' achieved bandwidth is compared.
// Each invocation copies PER_INV elements, strided by the workgroup size so that neighbouring
// invocations touch neighbouring addresses on every load.
// Grid: (x, y) = blocks of 256 * PER_INV elements (2D because of the 65535 per-dimension limit).

struct CopyParams {
    n: u32, // vec4<u32> elements to copy
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> params: CopyParams;
// Source: [n] vec4<u32>.
@group(0) @binding(1) var<storage, read> src: array<vec4<u32>>;
// Destination: [n] vec4<u32>.
@group(0) @binding(2) var<storage, read_write> dst: array<vec4<u32>>;

const WG: u32 = 256u;
const PER_INV: u32 = 4u;

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let base = (wid.x + wid.y * nwg.x) * WG * PER_INV + lid;
    for (var j = 0u; j < PER_INV; j++) {
        let i = base + j * WG;
        if i < params.n {
            dst[i] = src[i];
        }
    }
}
