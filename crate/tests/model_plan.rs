//! `MemoryPlan` (will a model fit?) from the header alone, held to what loading and a session
//! really allocate: the GPU counters' bytes of buffers created must equal the plan's total, for
//! the real model and for tiny models with a fused tensor (Phi-3), RoPE factors (Llama 3.1) and
//! a tied head (Gemma). Its verdict flips when the binding limit is capped.

mod common;

use std::path::Path;
use std::sync::Arc;

use brasa::generate::{Engine, Session, SessionOptions};
use brasa::gpu::GpuOptions;
use brasa::kernels::KvType;
use brasa::model::plan::MemoryPlan;
use common::*;

fn measured_bytes(engine: &Engine, path: &Path, ctx_size: u32, max_batch: u32) -> u64 {
    let before = engine.ctx.counters();
    let model = Arc::new(engine.load_file(path).unwrap());
    let _session =
        Session::new(engine, model, SessionOptions { ctx_size, max_batch, ..Default::default() }).unwrap();
    engine.ctx.counters().since(&before).buffer_bytes_created
}

#[test]
fn the_plan_is_what_loading_and_a_session_allocate() {
    let engine = pollster::block_on(Engine::new(GpuOptions::default())).unwrap();
    let mut paths = Vec::new();
    if let Some(dir) = tiny_models_dir() {
        paths.extend(
            ["tiny-phi3", "tiny-llama3", "tiny-gemma", "tiny-qwen3"].map(|m| dir.join(format!("{m}.gguf"))),
        );
    }
    paths.extend(model_path());
    for path in &paths {
        let (ctx_size, max_batch) = (192, 48);
        let header = brasa::gguf::read_header(path).unwrap();
        let plan = MemoryPlan::new(&header, ctx_size, KvType::default(), max_batch).unwrap();
        // An f32 cache is twice the f16 one.
        let plan_f32 = MemoryPlan::new(&header, ctx_size, KvType::F32, max_batch).unwrap();
        assert_eq!(plan_f32.kv_cache_bytes, 2 * plan.kv_cache_bytes);
        let got = measured_bytes(&engine, path, ctx_size, max_batch);
        assert_eq!(plan.total_bytes(), got, "{}: plan {plan:?}", path.display());
        let limit = engine.ctx.limits.max_storage_buffer_binding_size as u64;
        assert!(plan.verdict(limit, None).fits);
        // A device whose bindings are smaller than one layer's K/V cache cannot run it.
        let capped = plan.verdict(plan.largest_buffer - 4, None);
        assert!(!capped.fits && capped.reasons[0].contains("binding limit"), "{capped:?}");
        assert!(!plan.verdict(limit, Some(plan.total_bytes() - 1)).fits);
        eprintln!(
            "{}: {} parameters, {:.1} MB weights + {:.1} MB K/V + {:.1} MB scratch = {} bytes as allocated",
            path.file_name().unwrap().to_string_lossy(),
            plan.parameters,
            plan.weight_bytes as f64 / 1e6,
            plan.kv_cache_bytes as f64 / 1e6,
            plan.scratch_bytes as f64 / 1e6,
            got
        );
    }
    assert!(!paths.is_empty());
}
