// Teams that split one dot product, subgroup variant (needs the `subgroups` feature): a team
// is a subgroup, its partial sums added with `subgroupAdd`; no workgroup memory, no barrier.
// Correct for any subgroup size (4..128) and for partly filled subgroups (lanes are numbered
// densely among the active invocations). Same interface as team_workgroup.wgsl; the kernel
// defines `const QUADS: u32` (work items per workgroup).

struct Inv {
    @builtin(local_invocation_index) lid: u32,
    @builtin(subgroup_id) sg_id: u32,
    @builtin(num_subgroups) n_sg: u32,
}

struct Team {
    index: u32,
    count: u32,
    lane: u32,
    size: u32,
}

// Call in uniform control flow.
fn team_of(inv: Inv) -> Team {
    return Team(inv.sg_id, inv.n_sg, subgroupExclusiveAdd(1u), subgroupAdd(1u));
}

// Rounds of work items the teams take: ceil(QUADS / subgroups).
fn team_rounds(inv: Inv) -> u32 {
    return (QUADS + inv.n_sg - 1u) / inv.n_sg;
}

// Sum of `v` over the team (the subgroup); valid in every lane. Call in uniform control flow.
fn team_sum4(inv: Inv, t: Team, v: vec4<f32>) -> vec4<f32> {
    return subgroupAdd(v);
}
