// Workgroup-wide sums, baseline variant: a tree in workgroup memory (no optional feature).
// Composed before a kernel file that defines `const WG: u32` (its workgroup size, a power of
// two) and whose entry points take `inv: Inv`. The subgroup variant (sum_subgroup.wgsl) has
// the same interface.

// The invocation's builtins the reduction needs.
struct Inv {
    @builtin(local_invocation_index) lid: u32,
}

var<workgroup> red: array<f32, WG>;

// Sum of `v` over the workgroup, returned to every invocation. Call in uniform control flow.
fn reduce_sum(inv: Inv, v: f32) -> f32 {
    let lid = inv.lid;
    red[lid] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s >>= 1u) {
        if (lid < s) {
            red[lid] += red[lid + s];
        }
        workgroupBarrier();
    }
    let total = red[0];
    workgroupBarrier();
    return total;
}
