// Transposing row copy: dst[c * dst_stride + dst_col0 + i] = src[i * row_elems + c] for
// i < n_rows, c < row_elems. Appends keys to the K cache, which is stored position-fastest
// ([n_kv_head * head_dim, capacity]) so that attention's invocations, one key each, read
// consecutive addresses for a fixed dimension.
// One invocation per element; element e is (c, i) = (e / n_rows, e % n_rows), so neighbouring
// invocations write neighbouring addresses.
// Grid: (x, y) = blocks of 256 elements (2D because of the 65535 per-dimension limit).

struct TransposeParams {
    n_rows: u32,
    row_elems: u32,
    dst_col0: u32,
    dst_stride: u32,
}

@group(0) @binding(0) var<uniform> params: TransposeParams;
// Source: [n_rows, row_elems] f32.
@group(0) @binding(1) var<storage, read> src: array<f32>;
// Destination: [row_elems, dst_stride] f32; columns dst_col0 .. dst_col0 + n_rows are written.
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(256)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let e = (wid.x + wid.y * nwg.x) * 256u + lid;
    if (e >= params.n_rows * params.row_elems) {
        return;
    }
    let c = e / params.n_rows;
    let i = e % params.n_rows;
    dst[c * params.dst_stride + params.dst_col0 + i] = src[i * params.row_elems + c];
}
