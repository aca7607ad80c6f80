//! The GPU forward pass against the CPU reference forward pass (f64 accumulation over the same
//! dequantized weights), on the real gemma-3-270m: prefill logits position by position, and the
//! decode path (K/V cache, positions, GPU sampling) through greedy generation.

mod common;

use brasa::generate::{GenParams, Session, SessionOptions};
use brasa::kernels::KvType;
use brasa::reference::forward::CpuModel;
use common::*;

/// Budget for `max |gpu - cpu| / max |cpu|` over a position's logits. Both sides compute in
/// f32 from identical dequantized weights; the GPU sums in f32 in a different order over
/// 640–2048-long dot products and 18 layers, so errors of ~1e-4 relative are expected; 2e-3
/// leaves room and still catches any real kernel bug (which gives O(1) errors).
const LOGIT_BUDGET: f64 = 2e-3;
/// The same with the default f16 K/V cache, whose keys and values keep 11 significant bits while
/// the reference's keep 53: measured up to 1.9e-4 on this prompt (f32 cache: 1.1e-6); 1e-3
/// leaves room and still catches any kernel bug.
const F16_CACHE_BUDGET: f64 = 1e-3;

/// Every kernel variant the adapter runs (on lavapipe: subgroup reductions with the register
/// mat-mul tiles, then workgroup-memory reductions with the workgroup-memory tiles)
/// against the same reference and budget.
#[test]
fn gpu_matches_cpu_reference() {
    let Some(path) = model_path() else { return };
    let cpu = CpuModel::load(&path).unwrap();
    for opts in variant_options() {
        let (engine, model) = load_gpu_with(&path, opts);
        eprintln!("kernels: {:?}", engine.ctx.variants);
        check_against(&engine, &model, &cpu);
    }
}

fn check_against(
    engine: &brasa::generate::Engine,
    model: &std::sync::Arc<brasa::model::Model>,
    cpu: &CpuModel,
) {
    let prompt = "The history of the printing press begins in";
    let tokens = model.tokenizer.encode(prompt, true, false);

    // Prefill in batches of 3 to exercise several forward calls with pos0 > 0. An f32 K/V cache:
    // the reference keeps keys and values in f64.
    let opts = SessionOptions { ctx_size: 64, max_batch: 3, kv_type: KvType::F32, ..Default::default() };
    let mut session = Session::new(engine, model.clone(), opts.clone()).unwrap();
    let gpu = pollster::block_on(session.logits(&tokens)).unwrap();
    let reference = cpu.forward(&tokens).unwrap();
    for (p, (g, c)) in gpu.iter().zip(&reference).enumerate() {
        let err = normalized_error(g, c);
        eprintln!("position {p}: normalized error {err:.2e}");
        assert!(err <= LOGIT_BUDGET, "position {p}: error {err} > {LOGIT_BUDGET}");
    }

    // The default f16 cache rounds keys and values to 11 significant bits (see F16_CACHE_BUDGET).
    let f16 = SessionOptions { kv_type: KvType::F16, ..opts.clone() };
    let mut session = Session::new(engine, model.clone(), f16).unwrap();
    let gpu16 = pollster::block_on(session.logits(&tokens)).unwrap();
    for (p, (g, c)) in gpu16.iter().zip(&reference).enumerate() {
        let err = normalized_error(g, c);
        eprintln!("position {p}, f16 cache: normalized error {err:.2e}");
        assert!(err <= F16_CACHE_BUDGET, "position {p}, f16 cache: error {err} > {F16_CACHE_BUDGET}");
    }

    // Greedy decode on the GPU, then check every chosen token against the CPU's argmax over the
    // same sequence wherever the CPU's top-2 margin leaves no doubt.
    let mut session = Session::new(engine, model.clone(), opts).unwrap();
    let params = GenParams { max_tokens: 8, temperature: 0.0, top_k: 1, ..Default::default() };
    let stats = pollster::block_on(session.generate(prompt, &params, &mut |_| true)).unwrap();
    let generated = stats.tokens.clone();
    eprintln!("greedy: {:?} -> {:?}", stats.text, generated);
    let mut all = tokens.clone();
    all.extend(&generated);
    let reference = cpu.forward(&all).unwrap();
    for (i, tok) in generated.iter().enumerate() {
        let logits = &reference[tokens.len() - 1 + i];
        if margin(logits) > 0.1 {
            assert_eq!(*tok as usize, argmax(logits), "generated token {i}");
        }
    }
}
