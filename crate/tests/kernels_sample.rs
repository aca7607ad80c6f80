//! GPU sampling and NLL against the CPU reference of the same rule
//! (brasa::reference::kernels::sample / nll).
#![cfg(feature = "gpu")]

mod kernels_util;

use brasa::kernels::SampleArgs;
use brasa::reference::kernels as reference;
use kernels_util::{gpu, Gpu, Rng};

/// Sample `logits` (one row) once per entry of `args`, all in one batch.
fn sample_gpu(g: &Gpu, logits: &[f32], args: &[SampleArgs]) -> Vec<u32> {
    let lb = g.f32_buffer(logits);
    let out = g.u32_buffer(&vec![u32::MAX; args.len()]);
    let mut batch = g.kernels.batch(&g.ctx);
    for (slot, a) in args.iter().enumerate() {
        batch.sample(&lb, 0, logits.len() as u32, a, &out, slot as u32);
    }
    batch.submit().unwrap();
    g.read_u32(&out, args.len())
}

fn reference_pick(logits: &[f32], a: &SampleArgs) -> u32 {
    reference::sample(logits, a.temperature, a.top_k, a.top_p, a.min_p, a.u)
}

/// The GPU accumulates weights in f32 in a different order than the f64 reference, so when
/// `u` falls within 1e-4 (relative) of a boundary between two candidates either neighbour is
/// right; everywhere else the picks must be identical. Returns whether `u` is that close.
fn near_boundary(logits: &[f32], a: &SampleArgs) -> bool {
    let lo = SampleArgs { u: (a.u - 1e-4).max(0.0), ..*a };
    let hi = SampleArgs { u: (a.u + 1e-4).min(0.99999), ..*a };
    reference_pick(logits, &lo) != reference_pick(logits, &hi)
}

fn check_against_reference(g: &Gpu, logits: &[f32], args: &[SampleArgs]) {
    let got = sample_gpu(g, logits, args);
    let mut exact = 0;
    for (a, &gpu_pick) in args.iter().zip(&got) {
        let want = reference_pick(logits, a);
        if gpu_pick != want {
            assert!(
                near_boundary(logits, a),
                "n_vocab {}: {a:?}: GPU chose {gpu_pick}, reference {want}",
                logits.len()
            );
        } else {
            exact += 1;
        }
    }
    assert!(exact * 10 >= args.len() * 9, "too many boundary cases: {exact}/{}", args.len());
}

#[test]
fn greedy_ties_pick_lowest_id() {
    let Some(g) = gpu() else { return };
    let mut rng = Rng(20);
    for n in [1usize, 7, 1000, 262_144] {
        let mut logits = rng.vec(n, -5.0, 5.0);
        let ties: Vec<usize> = [n - 1, n / 2, n / 3 + 1].into_iter().filter(|&i| i < n).collect();
        for &i in &ties {
            logits[i] = 9.0;
        }
        let lowest = *ties.iter().min().unwrap() as u32;
        let greedy = [
            SampleArgs { top_k: 1, temperature: 0.8, ..Default::default() },
            SampleArgs { top_k: 40, temperature: 0.0, u: 0.7, ..Default::default() },
        ];
        assert_eq!(sample_gpu(g, &logits, &greedy), vec![lowest, lowest], "n_vocab {n}");
    }
}

#[test]
fn top_k_matches_reference_rule() {
    let Some(g) = gpu() else { return };
    let mut rng = Rng(21);
    for n in [10usize, 300, 5000, 262_144] {
        // Spread-out logits, with exact ties around the k-th largest to test the tie rule.
        let mut logits = rng.vec(n, -4.0, 4.0);
        // (Not all of them: with every logit equal, top-p's cut lands exactly on a candidate
        // and f32 vs f64 rounding of top_p * total decides it.)
        for i in (0..n).step_by(n.div_ceil(20).max(3)) {
            logits[i] = 3.25;
        }
        let mut args = Vec::new();
        for (top_k, temperature, top_p, min_p) in [
            (2u32, 1.0f32, 1.0f32, 0.0f32),
            (5, 0.7, 1.0, 0.0),
            (40, 1.0, 0.9, 0.0),
            (256, 1.3, 1.0, 0.05),
            (64, 0.5, 0.8, 0.1),
        ] {
            for i in 0..8 {
                let u = (i as f32 + 0.37) / 8.0;
                args.push(SampleArgs { top_k, temperature, top_p, min_p, u });
            }
        }
        check_against_reference(g, &logits, &args);
    }
}

#[test]
fn whole_vocab_matches_reference_rule() {
    let Some(g) = gpu() else { return };
    let mut rng = Rng(22);
    for n in [1000usize, 262_144] {
        let logits = rng.vec(n, -3.0, 3.0);
        let mut args = Vec::new();
        for (top_k, top_p, min_p) in [(0u32, 1.0f32, 0.0f32), (0, 1.0, 0.2), (0, 0.95, 0.0), (300, 1.0, 0.0)]
        {
            for i in 0..6 {
                args.push(SampleArgs { top_k, temperature: 0.9, top_p, min_p, u: (i as f32 + 0.5) / 6.0 });
            }
        }
        check_against_reference(g, &logits, &args);
    }
}

/// Over evenly spaced u, the picks follow the softmax of the top-k logits.
#[test]
fn top_k_distribution() {
    let Some(g) = gpu() else { return };
    let logits: Vec<f32> = (0..50).map(|i| -0.1 * i as f32).collect();
    let (k, t, m) = (4usize, 0.5f32, 200usize);
    let args: Vec<SampleArgs> = (0..m)
        .map(|i| SampleArgs {
            top_k: k as u32,
            temperature: t,
            u: (i as f32 + 0.5) / m as f32,
            ..Default::default()
        })
        .collect();
    let got = sample_gpu(g, &logits, &args);
    let w: Vec<f64> = (0..k).map(|i| (-0.1 * i as f64 / t as f64).exp()).collect();
    let total: f64 = w.iter().sum();
    for (i, wi) in w.iter().enumerate() {
        let count = got.iter().filter(|&&x| x as usize == i).count();
        let expect = wi / total * m as f64;
        // Evenly spaced u: each count is within one of its expectation.
        assert!((count as f64 - expect).abs() <= 1.0, "token {i}: {count} picks, expected {expect:.1}");
    }
    assert!(got.iter().all(|&x| (x as usize) < k));
}

#[test]
fn nll_matches_reference() {
    let Some(g) = gpu() else { return };
    let mut rng = Rng(23);
    for (rows, n_vocab) in [(1usize, 262_144usize), (5, 1000), (3, 7)] {
        let logits = rng.vec(rows * n_vocab, -10.0, 10.0);
        let targets: Vec<u32> = (0..rows).map(|_| rng.u32() % n_vocab as u32).collect();
        let (lb, tb, ob) = (g.f32_buffer(&logits), g.u32_buffer(&targets), g.zeros(rows));
        let mut batch = g.kernels.batch(&g.ctx);
        batch.nll(&lb, &tb, &ob, rows as u32, n_vocab as u32);
        batch.submit().unwrap();
        let got = g.read_f32(&ob, rows);
        let want = reference::nll(&logits, n_vocab, &targets);
        // logsumexp in f32: the sum of n_vocab exponentials has relative error ~ log2(n) * 2^-24
        // (tree sums), so the log is off by ~1e-6, plus rounding of logits of magnitude 10:
        // 1e-4 absolute per position.
        for (r, (a, b)) in got.iter().zip(&want).enumerate() {
            assert!((a - b).abs() <= 1e-4, "nll row {r} (n_vocab {n_vocab}): got {a}, want {b}");
        }
    }
}

/// Logit bias and repetition penalties on a row of logits against the CPU rule
/// (reference::kernels::penalize): the same f32 operations per logit, so equal within a few
/// ulp (the GPU may fuse `l - c·f` into one fma).
#[test]
fn penalties_and_logit_bias_match_the_reference() {
    use brasa::kernels::Penalties;
    let Some(g) = gpu() else { return };
    let mut rng = Rng(31);
    let n_vocab = 3001usize;
    let cases: [(usize, f32, f32, f32, usize); 4] = [
        // (recent tokens, repeat, frequency, presence, bias entries)
        (64, 1.3, 0.0, 0.0, 0),
        (200, 1.0, 0.5, 0.25, 5),
        (7, 0.8, -0.2, 1.5, 100),
        (0, 1.0, 0.0, 0.0, 3),
    ];
    for (n_recent, repeat, frequency, presence, n_bias) in cases {
        let logits = rng.vec(2 * n_vocab, -12.0, 12.0);
        // Few distinct ids so that repeats occur; ids are in range.
        let recent: Vec<u32> = (0..n_recent).map(|_| rng.u32() % 150).collect();
        let mut bias: Vec<(u32, f32)> = Vec::new();
        while bias.len() < n_bias {
            let id = rng.u32() % n_vocab as u32;
            if bias.iter().all(|(b, _)| *b != id) {
                bias.push((id, rng.f32(-5.0, 5.0)));
            }
        }
        let lb = g.f32_buffer(&logits);
        let words: Vec<u32> = bias.iter().flat_map(|(id, b)| [*id, b.to_bits()]).collect();
        let bb = g.u32_buffer(if words.is_empty() { &[0, 0] } else { &words });
        let rb = g.u32_buffer(if recent.is_empty() { &[0] } else { &recent });
        let p = Penalties { repeat, frequency, presence };
        let mut batch = g.kernels.batch(&g.ctx);
        batch.penalize(&lb, 1, n_vocab as u32, &bb, n_bias as u32, &rb, n_recent as u32, &p);
        batch.submit().unwrap();
        let got = g.read_f32(&lb, 2 * n_vocab);
        let mut want = logits.clone();
        reference::penalize(&mut want[n_vocab..], &bias, &recent, repeat, frequency, presence);
        assert_eq!(got[..n_vocab], logits[..n_vocab], "row 0 untouched");
        for (i, (a, b)) in got[n_vocab..].iter().zip(&want[n_vocab..]).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * b.abs().max(1.0),
                "token {i}: {a} vs {b} ({n_recent} recent, {p:?})"
            );
        }
        let changed = got[n_vocab..].iter().zip(&logits[n_vocab..]).filter(|(a, b)| a != b).count();
        assert!(changed > 0, "nothing changed ({n_recent} recent, {p:?}, {n_bias} biases)");
    }
}
