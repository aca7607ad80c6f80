//! A GPU allocation that really fails: the process's address space is limited (`RLIMIT_AS`) to
//! a little more than a loaded model needs, so lavapipe (whose "GPU memory" is process memory)
//! cannot allocate the K/V cache of a long context — the driver's own allocation fails, as on a
//! GPU without enough memory. The session must fail with `out_of_memory` naming the buffer and
//! its bytes, and the engine must go on: a short context then generates what it generated
//! before. Linux only (it reads /proc/self/status); one test in its own binary, since the limit
//! is process-wide. On a real GPU the limit does not bound GPU memory: the test says so and stops.

#![cfg(target_os = "linux")]

mod common;

use std::sync::Arc;

use brasa::generate::{Engine, GenParams, Session, SessionOptions};
use brasa::gpu::GpuOptions;
use common::*;

/// The process's virtual memory size now (`VmSize` in /proc/self/status), in bytes.
fn vm_size() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb = status.lines().find_map(|l| l.strip_prefix("VmSize:")).unwrap();
    kb.trim().trim_end_matches("kB").trim().parse::<u64>().unwrap() * 1024
}

/// Sets the soft address-space limit (the hard one stays), returning the previous soft limit.
fn limit_address_space(bytes: libc::rlim_t) -> libc::rlim_t {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_AS, &mut lim), 0);
        let previous = lim.rlim_cur;
        lim.rlim_cur = bytes.min(lim.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_AS, &lim), 0);
        previous
    }
}

fn greedy(engine: &Engine, model: &Arc<brasa::model::Model>, ctx_size: u32) -> Vec<u32> {
    let opts = SessionOptions { ctx_size, max_batch: 16, ..Default::default() };
    let mut s = Session::new(engine, model.clone(), opts).unwrap();
    let params =
        GenParams { max_tokens: 8, temperature: 0.0, top_k: 1, ignore_eos: true, ..Default::default() };
    pollster::block_on(s.generate_ids(&[1, 450, 4996, 17354], &params, &mut |_| true)).unwrap().tokens
}

#[test]
fn a_context_the_gpu_cannot_allocate_is_out_of_memory_naming_its_bytes() {
    let Some(dir) = tiny_models_dir() else { return };
    let engine = pollster::block_on(Engine::new(GpuOptions::default())).unwrap();
    if engine.ctx.adapter_info.device_type != wgpu::DeviceType::Cpu {
        eprintln!("SKIPPED: {} is not a CPU adapter: its memory is not the process's", engine.gpu_info());
        return;
    }
    let model = Arc::new(engine.load_file(&dir.join("tiny-llama.gguf")).unwrap());
    let before = greedy(&engine, &model, 64);

    // Each layer's K (and V) cache of this context is 32 MiB (a position is kv_dim values of
    // the cache's type); the limit leaves 96 MiB.
    let defaults = SessionOptions::default();
    let kv_bytes = model.hp.kv_dim() as u64 * defaults.kv_type.bytes();
    let ctx_size = ((32 << 20) / kv_bytes) as u32;
    let previous = limit_address_space(vm_size() + (96 << 20));
    let opts = SessionOptions { ctx_size, max_batch: 16, ..defaults };
    let long = Session::new(&engine, model.clone(), opts).map(|_| ());
    let after = greedy(&engine, &model, 64);
    limit_address_space(previous);

    let e = long.expect_err("a 32 MiB-per-layer K/V cache cannot fit in 96 MiB");
    let (what, bytes) = match &e {
        brasa::Error::OutOfMemory { what, bytes } => (what.clone(), *bytes),
        other => panic!("expected out_of_memory, got [{}] {other}", other.code()),
    };
    eprintln!("{e}");
    assert_eq!(e.code(), "out_of_memory");
    assert!(what.starts_with("k_cache.") || what.starts_with("v_cache."), "{e}");
    assert_eq!(bytes, ctx_size as u64 * kv_bytes, "{e}");
    assert!(e.to_string().contains(&format!("{bytes} bytes (32.00 MiB)")), "{e}");
    assert_eq!(after, before, "the engine answers as before the failure");
}
