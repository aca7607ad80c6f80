// Workgroup-wide sums, subgroup variant (needs the `subgroups` feature): `subgroupAdd` within
// each subgroup, then one step across subgroups through workgroup memory: 2 barriers instead
// of log2(WG) + 2. Correct for any subgroup size (4..128) and for partly filled subgroups.
// Same interface as sum_workgroup.wgsl: the kernel defines `const WG: u32` and its entry
// points take `inv: Inv`.

struct Inv {
    @builtin(local_invocation_index) lid: u32,
    @builtin(subgroup_id) sg_id: u32,
    @builtin(num_subgroups) n_sg: u32,
}

// One partial sum per subgroup (a subgroup has 4 invocations or more).
var<workgroup> red: array<f32, WG / 4u>;

// Sum of `v` over the workgroup, returned to every invocation. Call in uniform control flow.
// Every invocation adds the subgroup sums in the same order, so all get the same value.
fn reduce_sum(inv: Inv, v: f32) -> f32 {
    let s = subgroupAdd(v);
    // The first active invocation of each subgroup stores its sum.
    if (subgroupExclusiveAdd(1u) == 0u) {
        red[inv.sg_id] = s;
    }
    workgroupBarrier();
    var total = 0.0;
    for (var i = 0u; i < inv.n_sg; i++) {
        total += red[i];
    }
    workgroupBarrier();
    return total;
}
