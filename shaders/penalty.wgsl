// Logit bias and repetition penalties on one row of logits, in place, before sampling; one
// workgroup. In llama.cpp's order (its sampler chain: logit bias, then penalties):
//   1. logits[id] += bias for every (id, bias) pair (ids are distinct);
//   2. for every distinct id among the recent tokens, with c = its count there:
//        l = l <= 0 ? l * repeat : l / repeat;   l -= c * frequency + presence.
// Invocation i handles pairs / history entries i, i + WG, ...; an id is penalized by the
// invocation holding its first occurrence, so no two invocations touch one logit in a step.

struct PenaltyParams {
    n_vocab: u32,
    row: u32, // logits row
    n_bias: u32,
    n_hist: u32, // valid entries of `hist`
    repeat: f32, // 1 = off
    frequency: f32, // 0 = off
    presence: f32, // 0 = off
    _pad: u32,
}

@group(0) @binding(0) var<uniform> params: PenaltyParams;
// Logits: [*, n_vocab] f32; row `row` is updated.
@group(0) @binding(1) var<storage, read_write> logits: array<f32>;
// Logit bias: [n_bias] pairs (id: u32, bias: f32 bits).
@group(0) @binding(2) var<storage, read> bias: array<vec2<u32>>;
// Recent token ids, in any order (a ring): [>= n_hist] u32.
@group(0) @binding(3) var<storage, read> hist: array<u32>;

const WG: u32 = 64u;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32) {
    let base = params.row * params.n_vocab;
    for (var i = lid; i < params.n_bias; i += WG) {
        let id = bias[i].x;
        if (id < params.n_vocab) {
            logits[base + id] += bitcast<f32>(bias[i].y);
        }
    }
    storageBarrier();
    for (var i = lid; i < params.n_hist; i += WG) {
        let id = hist[i];
        var first = id < params.n_vocab;
        var count = 0u;
        for (var j = 0u; j < params.n_hist; j++) {
            if (hist[j] == id) {
                count += 1u;
                if (j < i) {
                    first = false;
                }
            }
        }
        if (first) {
            var l = logits[base + id];
            l = select(l / params.repeat, l * params.repeat, l <= 0.0);
            logits[base + id] = l - f32(count) * params.frequency - params.presence;
        }
    }
}
