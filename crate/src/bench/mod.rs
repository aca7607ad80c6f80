//! The benchmark behind `brasa bench` (issue 4): prefill and decode speed, time to first token,
//! the hardware-independent figures of a decoded token (dispatches, weight bytes read, objects
//! created, host encode time up to `queue.submit`) against the targets, and a roofline
//! of the mat-vec kernels against a plain copy kernel.
//!
//! Every runtime is fed the same token ids: BOS, then the tokens of a real text (repeated when
//! it is shorter than needed); each prompt is a prefix of that stream. Generation is greedy with
//! `ignore_eos`, so every rep does the same work. Async and target-independent (only the CLI
//! drives it for now; the browser bench measures the same figures through the wasm API).

mod profile;
mod report;
mod roofline;

pub use profile::{decode_profile, prefill_profile, KernelTime, ProfileReport};

pub use report::{
    Bandwidth, BenchReport, DecodeReport, GpuReport, LoadReport, MemoryReport, ModelReport, PerToken,
    PrefillReport, PromptReport, Roofline, SessionReport, Stat, Target, Targets,
};

use std::sync::Arc;

use serde::Serialize;
use web_time::Instant;

use crate::error::{Error, Result};
use crate::generate::{Engine, GenParams, GenStats, Session, SessionOptions};
use crate::model::Model;
use crate::tokenizer::Tokenizer;

/// Decoded tokens timed per depth by `--profile`.
const PROFILE_STEPS: u32 = 8;

/// The targets (reported, never asserted).
const TARGET_DISPATCHES_PER_LAYER: f64 = 4.0;
/// The "small constant" of the dispatch target: embedding parts, final norm, LM head, sampling.
const TARGET_DISPATCHES_CONSTANT: f64 = 8.0;
const TARGET_WEIGHT_READ_RATIO: f64 = 1.05;
const TARGET_HOST_MS: f64 = 0.5;

/// What to measure. The default is the sizes.
#[derive(Clone, Debug, Serialize)]
pub struct BenchOptions {
    /// Prompt lengths (BOS included) whose prefill is timed, each on an empty cache.
    pub prompt_sizes: Vec<u32>,
    /// Decode steps timed per depth.
    pub decode_tokens: u32,
    /// Tokens in the cache when decoding starts (filled by a real prefill; 0 and 1 both mean
    /// a one-token prompt, BOS).
    pub depths: Vec<u32>,
    /// Repetitions of every measurement (median, min and max are reported).
    pub reps: u32,
    /// Time the copy and mat-vec kernels.
    pub roofline: bool,
    /// Time every kernel of a decoded token at each depth (timestamp queries: the engine's
    /// device must have been created with `GpuOptions::timestamps`).
    pub profile: bool,
    /// The sessions' K/V cache type (`f16` or `f32` in the report).
    #[serde(serialize_with = "kv_name")]
    pub kv_type: crate::kernels::KvType,
}

fn kv_name<S: serde::Serializer>(kv: &crate::kernels::KvType, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(kv.name())
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            prompt_sizes: vec![16, 128, 512],
            decode_tokens: 128,
            depths: vec![0, 2048],
            reps: 1,
            roofline: true,
            profile: false,
            kv_type: crate::kernels::KvType::default(),
        }
    }
}

impl BenchOptions {
    fn validate(&self) -> Result<()> {
        if self.reps == 0 || self.decode_tokens == 0 || self.prompt_sizes.contains(&0) {
            return Err(Error::InvalidArgument(
                "bench: reps, decode tokens and prompt sizes must be positive".into(),
            ));
        }
        Ok(())
    }
}

/// The prompt text and how the model was loaded, measured by the caller (the load is
/// target-specific: a file natively, a stream in the browser).
pub struct BenchInput<'a> {
    pub text: &'a str,
    /// Where `text` came from, for the report.
    pub text_source: String,
    pub file_bytes: u64,
    pub load: LoadReport,
}

/// `n` prompt token ids: BOS (when the vocabulary has one), then the tokens of `text`, which is
/// repeated (separated by a blank line) until there are enough.
pub fn prompt_tokens(tok: &Tokenizer, text: &str, n: usize) -> Result<Vec<u32>> {
    let piece = tok.encode(&format!("{}\n\n", text.trim_end()), false, false);
    if piece.is_empty() && n > 1 {
        return Err(Error::InvalidArgument("bench: the prompt text has no tokens".into()));
    }
    let mut ids: Vec<u32> = tok.bos().into_iter().collect();
    while ids.len() < n {
        ids.extend_from_slice(&piece);
    }
    ids.truncate(n);
    Ok(ids)
}

/// Runs the benchmark; `progress` gets a line before each measurement.
pub async fn run(
    engine: &Engine,
    model: &Arc<Model>,
    input: BenchInput<'_>,
    opts: &BenchOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<BenchReport> {
    opts.validate()?;
    let t_bench = Instant::now();
    let ctx = &engine.ctx;
    let n = opts.decode_tokens as usize;
    let max_prompt = opts.prompt_sizes.iter().copied().max().unwrap_or(1) as usize;
    let max_depth = opts.depths.iter().copied().max().unwrap_or(0).max(1) as usize;
    let needed = max_prompt.max(max_depth + PROFILE_STEPS as usize).max(2);
    let tokens = prompt_tokens(&model.tokenizer, input.text, needed)?;
    // Room for the longest prompt, and for the deepest decode.
    let ctx_size = (max_prompt.max(max_depth + n) + 1) as u32;

    let before = ctx.counters();
    let mut session = Session::new(
        engine,
        model.clone(),
        SessionOptions { ctx_size, kv_type: opts.kv_type, ..Default::default() },
    )?;
    let alloc = ctx.counters().since(&before);
    let session_report = SessionReport {
        ctx_size,
        buffers_created: alloc.buffers_created,
        buffer_bytes_created: alloc.buffer_bytes_created,
    };

    progress("warm-up (builds the pipelines)");
    let t = Instant::now();
    generate(&mut session, &tokens[..2], 2).await?;
    let warmup_s = t.elapsed().as_secs_f64();

    let mut prefill = Vec::new();
    for &size in &opts.prompt_sizes {
        progress(&format!("prefill {size} tokens"));
        let mut runs = Vec::new();
        for _ in 0..opts.reps {
            runs.push(generate(&mut session, &tokens[..size as usize], 1).await?);
        }
        prefill.push(prefill_report(&runs));
    }

    let mut decode = Vec::new();
    for &depth in &opts.depths {
        progress(&format!("decode {n} tokens at depth {depth}"));
        let prompt = &tokens[..(depth as usize).max(1)];
        let mut runs = Vec::new();
        for _ in 0..opts.reps {
            runs.push(generate(&mut session, prompt, n + 1).await?);
        }
        decode.push(decode_report(&runs, depth as usize, model.gguf_weight_bytes)?);
    }
    let targets = decode.first().map(|d| targets(d, model.hp.n_layer));

    let roofline = if opts.roofline { Some(roofline::measure(engine, model, progress).await?) } else { None };

    let mut profile = Vec::new();
    let mut profile_prefill = None;
    let timestamps = ctx.features.contains(crate::gpu::TIMESTAMP_FEATURES);
    if opts.profile && !timestamps {
        progress("profile skipped: this device has no timestamp queries inside compute passes");
    }
    if opts.profile && timestamps {
        drop(session); // its buffers
        for &depth in &opts.depths {
            progress(&format!("profile {PROFILE_STEPS} tokens at depth {depth}"));
            profile.push(decode_profile(engine, model, &tokens, depth, PROFILE_STEPS, opts.kv_type).await?);
        }
        // The longest prompt timed above.
        if let Some(&n) = opts.prompt_sizes.iter().max() {
            progress(&format!("profile the prefill of {n} tokens"));
            let prompt = &tokens[..(n as usize).min(tokens.len())];
            profile_prefill = Some(prefill_profile(engine, model, prompt, opts.kv_type).await?);
        }
    }

    let info = &ctx.adapter_info;
    Ok(BenchReport {
        brasa_version: env!("CARGO_PKG_VERSION").to_string(),
        runtime: if cfg!(target_arch = "wasm32") { "wasm32" } else { "native" }.to_string(),
        gpu: GpuReport {
            adapter: info.name.clone(),
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info),
            description: ctx.describe(),
            max_binding_bytes: ctx.max_binding_bytes,
        },
        model: ModelReport {
            name: model.name.clone(),
            architecture: model.hp.arch.name().to_string(),
            n_layer: model.hp.n_layer,
            n_embd: model.hp.n_embd,
            n_vocab: model.hp.n_vocab,
            file_bytes: input.file_bytes,
            gguf_weight_bytes: model.gguf_weight_bytes,
            gpu_weight_bytes: model.weight_bytes,
        },
        options: opts.clone(),
        prompt: PromptReport {
            source: input.text_source,
            tokens: tokens.len(),
            first_ids: tokens.iter().take(8).copied().collect(),
        },
        load: input.load,
        warmup_s,
        session: session_report,
        prefill,
        decode,
        targets,
        roofline,
        profile,
        profile_prefill,
        memory: MemoryReport { peak_rss_bytes: peak_rss_bytes() },
        bench_s: t_bench.elapsed().as_secs_f64(),
    })
}

/// Greedy generation of `max_tokens` tokens after `prompt` on an emptied cache.
async fn generate(session: &mut Session, prompt: &[u32], max_tokens: usize) -> Result<GenStats> {
    session.reset();
    let params = GenParams {
        max_tokens: max_tokens as u32,
        temperature: 0.0,
        top_k: 1,
        ignore_eos: true,
        ..Default::default()
    };
    let stats = session.generate_ids(prompt, &params, &mut |_| true).await?;
    if stats.generated_tokens != max_tokens {
        return Err(Error::Gpu(format!(
            "bench: generated {} tokens instead of {max_tokens} ({:?})",
            stats.generated_tokens, stats.finish
        )));
    }
    Ok(stats)
}

fn prefill_report(runs: &[GenStats]) -> PrefillReport {
    let tok_s: Vec<f64> = runs.iter().map(|s| s.prefill_tok_s()).collect();
    let ttft: Vec<f64> = runs.iter().map(|s| s.ttft_s).collect();
    PrefillReport {
        tokens: runs.first().map_or(0, |s| s.prompt_tokens),
        tok_s: Stat::of(&tok_s),
        ttft_s: Stat::of(&ttft),
    }
}

fn decode_report(runs: &[GenStats], depth: usize, gguf_weight_bytes: u64) -> Result<DecodeReport> {
    let last = runs.last().ok_or_else(|| Error::InvalidArgument("bench: no reps".into()))?;
    let per = |f: &dyn Fn(&GenStats) -> f64| -> Vec<f64> { runs.iter().map(|s| s.per_step(f(s))).collect() };
    let tok_s: Vec<f64> = runs.iter().map(|s| s.decode_tok_s()).collect();
    let ms = per(&|s| s.decode_s * 1e3);
    let host_ms = per(&|s| s.decode_host_s * 1e3);
    let weight_bytes = last.per_step(last.decode_weight_bytes as f64);
    let host = Stat::of(&host_ms);
    Ok(DecodeReport {
        depth,
        tokens: last.decode_steps,
        tok_s: Stat::of(&tok_s),
        ms_per_token: Stat::of(&ms),
        host_ms_per_token: host,
        depth_prefill: (last.prompt_tokens > 1).then(|| prefill_report(runs)),
        per_token: PerToken {
            dispatches: last.per_step(last.decode_dispatches as f64),
            weight_bytes,
            weight_read_ratio: weight_bytes / gguf_weight_bytes.max(1) as f64,
            bind_groups: last.per_step(last.decode_bind_groups as f64),
            buffers_created: last.per_step(last.decode_buffers_created as f64),
            host_ms: host.median,
        },
    })
}

fn targets(d: &DecodeReport, n_layer: u32) -> Targets {
    let t = &d.per_token;
    let layers = n_layer.max(1) as f64;
    Targets {
        depth: d.depth,
        dispatches_per_token: Target::at_most(
            t.dispatches,
            TARGET_DISPATCHES_PER_LAYER * layers + TARGET_DISPATCHES_CONSTANT,
        ),
        dispatches_per_layer: t.dispatches / layers,
        weight_read_ratio: Target::at_most(t.weight_read_ratio, TARGET_WEIGHT_READ_RATIO),
        host_ms_per_token: Target::at_most(t.host_ms, TARGET_HOST_MS),
        bind_groups_per_token: Target::at_most(t.bind_groups, 0.0),
        buffers_per_token: Target::at_most(t.buffers_created, 0.0),
    }
}

/// Peak resident memory of this process so far (Linux: VmHWM of /proc/self/status; `None`
/// elsewhere, wasm32 included).
pub fn peak_rss_bytes() -> Option<u64> {
    #[cfg(target_os = "linux")]
    {
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    }
    #[cfg(not(target_os = "linux"))]
    None
}
