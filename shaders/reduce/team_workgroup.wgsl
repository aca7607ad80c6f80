// Teams that split one dot product, baseline variant (no optional feature): teams of TEAM = 4
// neighbouring invocations, their partial sums added through workgroup memory.
// Composed before a kernel file that defines `const WG: u32` (its workgroup size) and
// `const QUADS: u32` (work items per workgroup), and whose entry points take `inv: Inv`.
// team_sum4 has a barrier: call it in a loop of team_rounds() rounds, never under a branch.
// Same interface as team_subgroup.wgsl.

struct Inv {
    @builtin(local_invocation_index) lid: u32,
}

// A team: `index` < `count` among the workgroup's teams; `lane` < `size` within the team.
struct Team {
    index: u32,
    count: u32,
    lane: u32,
    size: u32,
}

const TEAM: u32 = 4u;
// One round covers every work item, so team_sum4 runs once per invocation and `partial`
// needs no second barrier.
const_assert WG / TEAM >= QUADS;

var<workgroup> partial: array<vec4<f32>, WG>;

fn team_of(inv: Inv) -> Team {
    return Team(inv.lid / TEAM, WG / TEAM, inv.lid % TEAM, TEAM);
}

// Rounds of work items the teams take (a trip count every invocation agrees on, which
// WGSL's uniformity analysis must see: it does not track struct members one by one, so
// ceil(QUADS / t.count) would count as non-uniform).
fn team_rounds(inv: Inv) -> u32 {
    return 1u;
}

// Sum of `v` over the team; valid in lane 0. Call in uniform control flow, once.
fn team_sum4(inv: Inv, t: Team, v: vec4<f32>) -> vec4<f32> {
    partial[inv.lid] = v;
    workgroupBarrier();
    var s = vec4<f32>(0.0);
    if (t.lane == 0u) {
        for (var j = 0u; j < TEAM; j++) {
            s += partial[inv.lid + j];
        }
    }
    return s;
}
