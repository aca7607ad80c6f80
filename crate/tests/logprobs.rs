//! Log-probabilities of generated tokens (OpenAI's `logprobs` / `top_logprobs`), computed on the
//! GPU: each step's chosen token and top 5 against an f64 log-softmax of the logits a fresh
//! session reads back for the same tokens.

mod common;

use std::sync::Arc;

use brasa::generate::{Engine, GenParams, Session, SessionOptions};
use brasa::gpu::GpuOptions;
use common::*;

/// f64 log-softmax of `row`; the `n` best (logit descending, lower id first on ties).
fn reference(row: &[f32], n: usize) -> (Vec<f64>, Vec<usize>) {
    let mx = row.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v as f64));
    let lse = mx + row.iter().map(|&v| (v as f64 - mx).exp()).sum::<f64>().ln();
    let lp: Vec<f64> = row.iter().map(|&v| v as f64 - lse).collect();
    let mut order: Vec<usize> = (0..row.len()).collect();
    order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
    order.truncate(n);
    (lp, order)
}

#[test]
fn logprobs_match_an_f64_log_softmax() {
    let mut paths = Vec::new();
    if let Some(dir) = tiny_models_dir() {
        paths.push(dir.join("tiny-qwen2.gguf"));
    }
    paths.extend(model_path());
    let engine = pollster::block_on(Engine::new(GpuOptions::default())).unwrap();
    for path in &paths {
        let model = Arc::new(engine.load_file(path).unwrap());
        let opts = || SessionOptions { ctx_size: 64, max_batch: 16, ..Default::default() };
        let prompt = model.tokenizer.encode("The capital of France is", model.tokenizer.add_bos(), true);
        let params = GenParams {
            max_tokens: 3,
            temperature: 0.0,
            top_k: 1,
            ignore_eos: true,
            logprobs: true,
            top_logprobs: 5,
            ..Default::default()
        };
        let mut s = Session::new(&engine, model.clone(), opts()).unwrap();
        let stats = pollster::block_on(s.generate_ids(&prompt, &params, &mut |_| true)).unwrap();
        assert_eq!(stats.logprobs.len(), stats.tokens.len());
        let mut worst = 0f64;
        for (k, lp) in stats.logprobs.iter().enumerate() {
            assert_eq!(lp.token, stats.tokens[k]);
            let mut fresh = Session::new(&engine, model.clone(), opts()).unwrap();
            let mut ids = prompt.clone();
            ids.extend(&stats.tokens[..k]);
            let row = pollster::block_on(fresh.logits(&ids)).unwrap().pop().unwrap();
            let (want, best) = reference(&row, 5);
            let d = (lp.logprob as f64 - want[lp.token as usize]).abs();
            worst = worst.max(d);
            assert!(
                d < 1e-4,
                "{}: step {k}: logprob {} vs {}",
                path.display(),
                lp.logprob,
                want[lp.token as usize]
            );
            // Greedy: the chosen token is the most likely one.
            assert_eq!(lp.token as usize, best[0]);
            let ids: Vec<usize> = lp.top.iter().map(|t| t.0 as usize).collect();
            assert_eq!(ids, best, "{}: step {k}: top 5", path.display());
            for (id, l) in &lp.top {
                worst = worst.max((*l as f64 - want[*id as usize]).abs());
                assert!((*l as f64 - want[*id as usize]).abs() < 1e-4);
            }
        }
        eprintln!(
            "{}: worst |logprob − f64 reference| {worst:.1e}",
            path.file_name().unwrap().to_string_lossy()
        );

        let bad = GenParams { top_logprobs: 21, logprobs: true, ..Default::default() };
        let err = pollster::block_on(s.generate_ids(&prompt, &bad, &mut |_| true)).unwrap_err();
        assert_eq!(err.code(), "invalid_argument");
    }
    assert!(!paths.is_empty());
}
