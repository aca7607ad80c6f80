//! `Session::fork`: a copy of a session's K/V cache and history. The reference is the original
//! session itself and a fresh session fed the same tokens: after a fork, both branches give the
//! logits a fresh evaluation of their own tokens gives, and neither disturbs the other. Runs on
//! the tiny llama model (scripts/make_tiny_models.py).

mod common;

use std::sync::Arc;

use brasa::generate::{Engine, GenParams, Session, SessionOptions};
use brasa::gpu::GpuOptions;
use common::*;

fn setup() -> Option<(Engine, Arc<brasa::model::Model>)> {
    let dir = tiny_models_dir()?;
    let engine = pollster::block_on(Engine::new(GpuOptions::default())).unwrap();
    let model = engine.load_file(&dir.join("tiny-llama.gguf")).unwrap();
    Some((engine, Arc::new(model)))
}

const OPTS: SessionOptions = SessionOptions {
    ctx_size: 48,
    max_batch: 8,
    overflow: brasa::generate::ContextOverflow::Stop,
    kv_type: brasa::kernels::KvType::F16,
};

/// The logits of the last of `tokens`, from a fresh session.
fn fresh_logits(engine: &Engine, model: &Arc<brasa::model::Model>, tokens: &[u32]) -> Vec<f32> {
    let mut s = Session::new(engine, model.clone(), OPTS).unwrap();
    pollster::block_on(s.logits(tokens)).unwrap().pop().unwrap()
}

#[test]
fn a_fork_goes_on_from_the_same_state_and_both_branches_stay_independent() {
    let Some((engine, model)) = setup() else { return };
    let shared: Vec<u32> = std::iter::once(1).chain((1..20).map(|i| 300 + 37 * i)).collect();
    let mut a = Session::new(&engine, model.clone(), OPTS).unwrap();
    pollster::block_on(a.logits(&shared)).unwrap();
    let mut b = a.fork().unwrap();
    assert_eq!(b.n_past(), a.n_past());
    assert_eq!(b.history(), a.history());

    // The branches diverge: the original is fed one continuation, the fork another.
    let (a_next, b_next) = ([901, 902, 903], [1201, 1202]);
    let a_logits = pollster::block_on(a.logits(&a_next)).unwrap().pop().unwrap();
    let b_logits = pollster::block_on(b.logits(&b_next)).unwrap().pop().unwrap();
    let with = |tail: &[u32]| shared.iter().chain(tail).copied().collect::<Vec<_>>();
    let (a_err, b_err) = (
        normalized_error(&a_logits, &fresh_logits(&engine, &model, &with(&a_next))),
        normalized_error(&b_logits, &fresh_logits(&engine, &model, &with(&b_next))),
    );
    // Decode and prefill sum in different orders (≤ 1e-5 seen in context_shift); a fork that
    // copied nothing, or the wrong positions, is off by far more than this.
    assert!(a_err <= 1e-4 && b_err <= 1e-4, "original {a_err:.2e}, fork {b_err:.2e}");
    assert_eq!(a.history(), &with(&a_next)[..]);
    assert_eq!(b.history(), &with(&b_next)[..]);

    // Generation from the fork: the same greedy tokens as a fresh session given its history.
    let greedy =
        GenParams { max_tokens: 6, temperature: 0.0, top_k: 1, ignore_eos: true, ..Default::default() };
    let mut c = b.fork().unwrap();
    let mut prompt = b.history().to_vec();
    prompt.push(77);
    let from_fork = pollster::block_on(c.generate_ids(&prompt[prompt.len() - 1..], &greedy, &mut |_| true));
    // generate_ids feeds its prompt after the cache: the fork holds the rest of `prompt`.
    let from_fork = from_fork.unwrap();
    let mut fresh = Session::new(&engine, model.clone(), OPTS).unwrap();
    let from_fresh = pollster::block_on(fresh.generate_ids(&prompt, &greedy, &mut |_| true)).unwrap();
    assert_eq!(from_fork.tokens, from_fresh.tokens);
    eprintln!("fork vs fresh logits: original {a_err:.1e}, fork {b_err:.1e}; greedy {:?}", from_fork.tokens);
}
