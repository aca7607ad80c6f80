//! Sampling, log-likelihoods and penalties on the GPU against the CPU rule of the same
//! (`reference::kernels::sample`, `nll`, `penalize`).

use super::{Checks, Rng, SelfTest};
use crate::error::Result;
use crate::kernels::{Penalties, SampleArgs, NON_FINITE_TOKEN};
use crate::reference::kernels as reference;

/// Samples `logits` (one row) once per entry of `args`, all in one batch.
async fn sample_gpu(t: &SelfTest<'_>, logits: &[f32], args: &[SampleArgs]) -> Result<Vec<u32>> {
    let lb = t.f32_buffer(logits)?;
    let picks = t.u32_buffer(&vec![u32::MAX; args.len()])?;
    let mut batch = t.batch();
    for (slot, a) in args.iter().enumerate() {
        batch.sample(&lb, 0, logits.len() as u32, a, &picks, slot as u32);
    }
    batch.submit()?;
    t.read_u32(&picks, args.len()).await
}

fn reference_pick(logits: &[f32], a: &SampleArgs) -> u32 {
    reference::sample(logits, a.temperature, a.top_k, a.top_p, a.min_p, a.u)
}

/// The GPU accumulates weights in f32 in a different order than the f64 reference, so when
/// `u` falls within 1e-4 (relative) of a boundary between two candidates either neighbour is
/// right; everywhere else the picks must be identical. Whether `u` is that close.
fn near_boundary(logits: &[f32], a: &SampleArgs) -> bool {
    let lo = SampleArgs { u: (a.u - 1e-4).max(0.0), ..*a };
    let hi = SampleArgs { u: (a.u + 1e-4).min(0.99999), ..*a };
    reference_pick(logits, &lo) != reference_pick(logits, &hi)
}

/// Two checks: no pick differs from the reference's unless `u` is near a boundary, and at most
/// a tenth of the picks are such boundary cases (else the first check proves little).
async fn against_reference(
    t: &SelfTest<'_>,
    out: &mut Checks,
    name: &'static str,
    logits: &[f32],
    args: &[SampleArgs],
) -> Result<()> {
    let got = sample_gpu(t, logits, args).await?;
    let (mut wrong, mut boundary, mut first) = (0, 0, String::new());
    for (a, &pick) in args.iter().zip(&got) {
        let want = reference_pick(logits, a);
        if pick == want {
            continue;
        }
        if near_boundary(logits, a) {
            boundary += 1;
        } else {
            wrong += 1;
            if first.is_empty() {
                first = format!("{a:?}: GPU chose {pick}, reference {want}");
            }
        }
    }
    let shape = format!("n_vocab {}, {} picks", logits.len(), args.len());
    out.count(name, &shape, wrong, 0, first);
    out.count(name, &format!("{shape}, near a boundary"), boundary, args.len() / 10, String::new());
    Ok(())
}

/// Greedy picks (top-k 1, or temperature 0) break ties towards the lowest id.
pub(super) async fn greedy(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
    let mut rng = Rng(20);
    for n in [1usize, 7, 1000, 262_144] {
        let mut logits = rng.vec(n, -5.0, 5.0);
        let ties: Vec<usize> = [n - 1, n / 2, n / 3 + 1].into_iter().filter(|&i| i < n).collect();
        for &i in &ties {
            logits[i] = 9.0;
        }
        let lowest = ties.iter().min().map_or(0, |&i| i as u32);
        let greedy = [
            SampleArgs { top_k: 1, temperature: 0.8, ..Default::default() },
            SampleArgs { top_k: 40, temperature: 0.0, u: 0.7, ..Default::default() },
        ];
        let got = sample_gpu(t, &logits, &greedy).await?;
        out.same(
            "sample greedy",
            None,
            &format!("n_vocab {n}, tied maxima {ties:?}"),
            &got,
            &[lowest, lowest],
        );
    }
    non_finite(t, out).await
}

/// A row with NaN or +inf has no pick in any mode (greedy, top-k, whole vocabulary): the
/// sampler writes NON_FINITE_TOKEN. -inf (a banned token) is a valid logit.
async fn non_finite(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
    let mut rng = Rng(22);
    let modes = [
        SampleArgs { top_k: 1, ..Default::default() },
        SampleArgs { top_k: 40, temperature: 0.8, u: 0.3, ..Default::default() },
        SampleArgs { top_k: 0, temperature: 1.0, u: 0.6, ..Default::default() },
    ];
    let n = 5000;
    for (what, value, at) in [("NaN", f32::NAN, 0), ("NaN", f32::NAN, n - 1), ("+inf", f32::INFINITY, 1234)] {
        let mut logits = rng.vec(n, -5.0, 5.0);
        logits[at] = value;
        let got = sample_gpu(t, &logits, &modes).await?;
        let want: Vec<u32> = modes.iter().map(|a| reference_pick(&logits, a)).collect();
        out.same("sample non-finite", None, &format!("n_vocab {n}, {what} at {at}"), &got, &want);
        out.holds(
            "sample non-finite",
            None,
            &format!("n_vocab {n}, {what} at {at}"),
            want.iter().all(|&w| w == NON_FINITE_TOKEN),
            "the reference rule flags the row too",
        );
    }
    let mut logits = rng.vec(n, -5.0, 5.0);
    for i in (0..n).step_by(7) {
        logits[i] = f32::NEG_INFINITY;
    }
    let got = sample_gpu(t, &logits, &modes).await?;
    let want: Vec<u32> = modes.iter().map(|a| reference_pick(&logits, a)).collect();
    out.same("sample non-finite", None, &format!("n_vocab {n}, -inf every 7th (banned)"), &got, &want);
    out.holds(
        "sample non-finite",
        None,
        &format!("n_vocab {n}, -inf every 7th (banned)"),
        want.iter().all(|&w| w < n as u32 && logits[w as usize].is_finite()),
        "-inf logits are banned tokens, not errors",
    );
    Ok(())
}

pub(super) async fn top_k(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
    let mut rng = Rng(21);
    for n in [10usize, 300, 5000, 262_144] {
        // Spread-out logits, with exact ties around the k-th largest to test the tie rule.
        let mut logits = rng.vec(n, -4.0, 4.0);
        // (Not all of them: with every logit equal, top-p's cut lands exactly on a candidate
        // and f32 vs f64 rounding of top_p · total decides it.)
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
        against_reference(t, out, "sample top-k", &logits, &args).await?;
    }
    Ok(())
}

pub(super) async fn whole_vocab(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
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
        against_reference(t, out, "sample whole vocabulary", &logits, &args).await?;
    }
    Ok(())
}

/// Over evenly spaced u, the picks follow the softmax of the top-k logits: each token's count
/// is within one of its expectation.
pub(super) async fn distribution(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
    let logits: Vec<f32> = (0..50).map(|i| -0.1 * i as f32).collect();
    let (k, temp, m) = (4usize, 0.5f32, 200usize);
    let args: Vec<SampleArgs> = (0..m)
        .map(|i| SampleArgs {
            top_k: k as u32,
            temperature: temp,
            u: (i as f32 + 0.5) / m as f32,
            ..Default::default()
        })
        .collect();
    let got = sample_gpu(t, &logits, &args).await?;
    let w: Vec<f64> = (0..k).map(|i| (-0.1 * i as f64 / temp as f64).exp()).collect();
    let total: f64 = w.iter().sum();
    let counts: Vec<f32> = (0..k).map(|i| got.iter().filter(|&&x| x as usize == i).count() as f32).collect();
    let expect: Vec<f32> = w.iter().map(|wi| (wi / total * m as f64) as f32).collect();
    let shape = format!("top-k {k} temperature {temp}, {m} evenly spaced u");
    out.absolute("sample counts", &shape, &counts, &expect, 1.0);
    out.holds("sample", None, &shape, got.iter().all(|&x| (x as usize) < k), "every pick among the top k");
    Ok(())
}

pub(super) async fn nll(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
    let mut rng = Rng(23);
    for (rows, n_vocab) in [(1usize, 262_144usize), (5, 1000), (3, 7)] {
        let logits = rng.vec(rows * n_vocab, -10.0, 10.0);
        let targets: Vec<u32> = (0..rows).map(|_| rng.u32() % n_vocab as u32).collect();
        let (lb, tb, ob) = (t.f32_buffer(&logits)?, t.u32_buffer(&targets)?, t.zeros(rows)?);
        let mut batch = t.batch();
        batch.nll(&lb, &tb, &ob, rows as u32, n_vocab as u32);
        batch.submit()?;
        let got = t.read(&[(&ob, rows)]).await?;
        let want = reference::nll(&logits, n_vocab, &targets);
        // logsumexp in f32: the sum of n_vocab exponentials has relative error ~ log2(n) · 2^-24
        // (tree sums), so the log is off by ~1e-6, plus rounding of logits of magnitude 10:
        // 1e-4 absolute per position.
        out.absolute("nll", &format!("{rows} rows of {n_vocab}"), &got[0], &want, 1e-4);
    }
    Ok(())
}

/// Logit bias and repetition penalties on a row of logits against the CPU rule: the same f32
/// operations per logit, so equal within a few ulp (the GPU may fuse `l - c·f` into one fma).
pub(super) async fn penalties(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
    let mut rng = Rng(31);
    let n_vocab = 3001usize;
    // (recent tokens, repeat, frequency, presence, bias entries)
    let cases: [(usize, f32, f32, f32, usize); 4] =
        [(64, 1.3, 0.0, 0.0, 0), (200, 1.0, 0.5, 0.25, 5), (7, 0.8, -0.2, 1.5, 100), (0, 1.0, 0.0, 0.0, 3)];
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
        let lb = t.f32_buffer(&logits)?;
        let words: Vec<u32> = bias.iter().flat_map(|(id, b)| [*id, b.to_bits()]).collect();
        let bb = t.u32_buffer(if words.is_empty() { &[0, 0] } else { &words })?;
        let rb = t.u32_buffer(if recent.is_empty() { &[0] } else { &recent })?;
        let p = Penalties { repeat, frequency, presence };
        let mut batch = t.batch();
        batch.penalize(&lb, 1, n_vocab as u32, &bb, n_bias as u32, &rb, n_recent as u32, &p);
        batch.submit()?;
        let got = t.read(&[(&lb, 2 * n_vocab)]).await?;
        let mut want = logits.clone();
        reference::penalize(&mut want[n_vocab..], &bias, &recent, repeat, frequency, presence);
        let shape = format!("n_vocab {n_vocab}, {n_recent} recent, {n_bias} biases, {p:?}");
        let (row0, row1) = got[0].split_at(n_vocab);
        out.same("penalize", None, &format!("{shape}, row 0 untouched"), row0, &logits[..n_vocab]);
        out.relative("penalize", &shape, row1, &want[n_vocab..], 1e-5);
        let changed = row1.iter().zip(&logits[n_vocab..]).any(|(a, b)| a != b);
        out.holds("penalize", None, &shape, changed, "some logit changed");
    }
    Ok(())
}
