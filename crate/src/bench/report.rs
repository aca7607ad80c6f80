//! The benchmark's result: plain data that serializes to the JSON of `brasa bench --json`, and
//! a readable table of the same figures.

use serde::Serialize;
use std::fmt::Write;

/// Median, minimum and maximum of repeated measurements.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Stat {
    /// Of at least one value (an empty slice gives zeros with `n = 0`).
    pub fn of(values: &[f64]) -> Stat {
        let mut v: Vec<f64> = values.to_vec();
        v.sort_by(|a, b| a.total_cmp(b));
        let n = v.len();
        if n == 0 {
            return Stat { median: 0.0, min: 0.0, max: 0.0, n };
        }
        let median = if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 };
        Stat { median, min: v[0], max: v[n - 1], n }
    }
}

/// A figure next to the target for it (a goal to report against, not an assertion).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Target {
    pub value: f64,
    /// The target is `value <= max` …
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// … or `value >= min`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    pub met: bool,
}

impl Target {
    pub fn at_most(value: f64, max: f64) -> Target {
        Target { value, max: Some(max), min: None, met: value <= max }
    }
    pub fn at_least(value: f64, min: f64) -> Target {
        Target { value, max: None, min: Some(min), met: value >= min }
    }
    fn show(&self) -> String {
        let goal = match (self.max, self.min) {
            (Some(m), _) => format!("<= {}", num(m)),
            (_, Some(m)) => format!(">= {}", num(m)),
            _ => String::new(),
        };
        format!("{} (target {goal}: {})", num(self.value), if self.met { "met" } else { "not met" })
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct GpuReport {
    pub adapter: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    /// [`crate::gpu::GpuContext::describe`]: adapter and the limits brasa uses.
    pub description: String,
    /// Largest weight part: tensors above it are split into several buffers.
    pub max_binding_bytes: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct ModelReport {
    pub name: String,
    pub architecture: String,
    pub n_layer: u32,
    pub n_embd: u32,
    pub n_vocab: u32,
    pub file_bytes: u64,
    /// Bytes of the model's tensors in the GGUF file.
    pub gguf_weight_bytes: u64,
    /// Bytes of the same tensors in the GPU layout (padded blocks).
    pub gpu_weight_bytes: u64,
}

/// The caller's measurement of the load (device creation, then file → GPU, model ready).
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct LoadReport {
    pub seconds: f64,
    pub buffers_created: u64,
    pub buffer_bytes_created: u64,
    /// Peak resident memory of the process when the model is ready ([`super::peak_rss_bytes`];
    /// null off Linux). With a CPU "GPU" such as lavapipe it includes the GPU buffers.
    pub peak_rss_bytes: Option<u64>,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct SessionReport {
    /// K/V cache capacity of the bench's session.
    pub ctx_size: u32,
    /// GPU buffers one session allocates (activations, K/V cache).
    pub buffers_created: u64,
    pub buffer_bytes_created: u64,
}

/// A prompt processed on an empty cache; the first generated token ends the measurement.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct PrefillReport {
    pub tokens: usize,
    pub tok_s: Stat,
    /// Time to first token: until the first generated id is on the host.
    pub ttft_s: Stat,
}

/// Hardware-independent figures of one decoded token (averages over the decode steps).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct PerToken {
    pub dispatches: f64,
    pub weight_bytes: f64,
    /// `weight_bytes` / the model's GGUF weight bytes.
    pub weight_read_ratio: f64,
    pub bind_groups: f64,
    pub buffers_created: f64,
    /// Host time encoding and submitting one step (median over reps).
    pub host_ms: f64,
}

#[derive(Clone, Copy, Debug, Serialize)]
pub struct DecodeReport {
    /// Tokens in the cache before the first decode step.
    pub depth: usize,
    /// Decode steps per rep.
    pub tokens: usize,
    pub tok_s: Stat,
    pub ms_per_token: Stat,
    pub host_ms_per_token: Stat,
    /// The prefill that filled the cache to `depth` (absent at depth ≤ 1).
    pub depth_prefill: Option<PrefillReport>,
    pub per_token: PerToken,
}

/// The per-token figures of the first decode depth against the targets.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Targets {
    pub depth: usize,
    /// Target: 4 per layer plus a constant of 8 (embedding parts, final norm, LM head, sampling).
    pub dispatches_per_token: Target,
    pub dispatches_per_layer: f64,
    pub weight_read_ratio: Target,
    pub host_ms_per_token: Target,
    pub bind_groups_per_token: Target,
    pub buffers_per_token: Target,
}

/// Achieved bandwidth of one timed kernel.
#[derive(Clone, Debug, Serialize)]
pub struct Bandwidth {
    /// What ran: `copy`, or the weight tensor's name.
    pub what: String,
    /// Block format of the weight (`copy` for the copy kernel).
    pub ty: String,
    pub rows: u64,
    pub cols: u64,
    /// Bytes per call: weight bytes (GPU layout) for a mat-vec; read + written for the copy.
    pub bytes: u64,
    pub calls: u32,
    /// Best (shortest) time of one call.
    pub seconds: f64,
    pub gb_s: f64,
    /// `gb_s` / the copy kernel's, against the ≥ 70 % target (absent for the copy itself).
    pub fraction_of_copy: Option<Target>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Roofline {
    pub copy: Bandwidth,
    /// The largest layer matrix of each block format, as decode runs it (one token).
    pub matvec: Vec<Bandwidth>,
    pub lm_head: Bandwidth,
}

#[derive(Clone, Debug, Serialize)]
pub struct MemoryReport {
    /// Peak resident memory of the process over the whole run (VmHWM natively on Linux; null
    /// elsewhere). Stands in for the browser's peak wasm memory; with a CPU "GPU" such as
    /// lavapipe it includes the GPU buffers (the roofline's copy buffers too).
    pub peak_rss_bytes: Option<u64>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PromptReport {
    /// Where the prompt text came from (a file name).
    pub source: String,
    /// Token ids of the longest prompt; every prompt is a prefix (BOS first).
    pub tokens: usize,
    pub first_ids: Vec<u32>,
}

/// Everything `brasa bench` measures.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub brasa_version: String,
    /// `native` or `wasm32`.
    pub runtime: String,
    pub gpu: GpuReport,
    pub model: ModelReport,
    pub options: super::BenchOptions,
    pub prompt: PromptReport,
    pub load: LoadReport,
    /// The first tiny generation, which builds the pipelines.
    pub warmup_s: f64,
    pub session: SessionReport,
    pub prefill: Vec<PrefillReport>,
    pub decode: Vec<DecodeReport>,
    pub targets: Option<Targets>,
    pub roofline: Option<Roofline>,
    /// Per-kernel GPU time of a decoded token at each depth (`--profile`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub profile: Vec<super::ProfileReport>,
    /// Per-kernel GPU time of the longest prompt's prefill (`--profile`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile_prefill: Option<super::ProfileReport>,
    pub memory: MemoryReport,
    /// Wall time of the whole benchmark after loading.
    pub bench_s: f64,
}

fn num(x: f64) -> String {
    if x == 0.0 || (x.abs() >= 0.01 && x.abs() < 1e6) {
        format!("{x:.3}").trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{x:.3e}")
    }
}

fn stat(s: &Stat) -> String {
    if s.n <= 1 {
        num(s.median)
    } else {
        format!("{} [{} .. {}]", num(s.median), num(s.min), num(s.max))
    }
}

impl BenchReport {
    /// The report as a readable table (what `brasa bench` prints without `--json`).
    pub fn to_table(&self) -> String {
        let mut o = String::new();
        let m = &self.model;
        let _ = writeln!(o, "brasa {} ({}) on {}", self.brasa_version, self.runtime, self.gpu.description);
        let _ = writeln!(
            o,
            "model: {} ({}, {} layers), file {:.1} MB, weights {:.1} MB in GGUF, {:.1} MB on the GPU",
            m.name,
            m.architecture,
            m.n_layer,
            m.file_bytes as f64 / 1e6,
            m.gguf_weight_bytes as f64 / 1e6,
            m.gpu_weight_bytes as f64 / 1e6
        );
        let _ = writeln!(
            o,
            "load: {} s, {} buffers ({:.1} MB); warm-up {} s; session: {} buffers ({:.1} MB, ctx {})",
            num(self.load.seconds),
            self.load.buffers_created,
            self.load.buffer_bytes_created as f64 / 1e6,
            num(self.warmup_s),
            self.session.buffers_created,
            self.session.buffer_bytes_created as f64 / 1e6,
            self.session.ctx_size
        );
        let _ = writeln!(o, "\nprefill (prompt tokens: tok/s, time to first token s):");
        for p in &self.prefill {
            let _ =
                writeln!(o, "  pp{:<6} {:>28} tok/s   ttft {} s", p.tokens, stat(&p.tok_s), stat(&p.ttft_s));
        }
        let _ = writeln!(o, "\ndecode (tokens @ depth: tok/s, ms/token, host ms/token):");
        for d in &self.decode {
            let _ = writeln!(
                o,
                "  tg{} @ {:<5} {:>24} tok/s   {} ms   host {} ms",
                d.tokens,
                d.depth,
                stat(&d.tok_s),
                stat(&d.ms_per_token),
                stat(&d.host_ms_per_token)
            );
            if let Some(p) = &d.depth_prefill {
                let _ =
                    writeln!(o, "      (filling the cache: {} tokens at {} tok/s)", p.tokens, stat(&p.tok_s));
            }
            let t = &d.per_token;
            let _ = writeln!(
                o,
                "      per token: {} dispatches, {:.1} MB of weights (x{}), {} bind groups, {} buffers",
                num(t.dispatches),
                t.weight_bytes / 1e6,
                num(t.weight_read_ratio),
                num(t.bind_groups),
                num(t.buffers_created)
            );
        }
        if let Some(t) = &self.targets {
            let _ = writeln!(o, "\ntargets (decode at depth {}):", t.depth);
            let _ = writeln!(
                o,
                "  dispatches/token       {} ({} per layer)",
                t.dispatches_per_token.show(),
                num(t.dispatches_per_layer)
            );
            let _ = writeln!(o, "  weight read ratio      {}", t.weight_read_ratio.show());
            let _ = writeln!(o, "  host ms/token          {}", t.host_ms_per_token.show());
            let _ = writeln!(o, "  bind groups/token      {}", t.bind_groups_per_token.show());
            let _ = writeln!(o, "  buffers/token          {}", t.buffers_per_token.show());
        }
        if let Some(r) = &self.roofline {
            let _ = writeln!(o, "\nroofline (achieved GB/s; fraction of the copy kernel):");
            for b in std::iter::once(&r.copy).chain(&r.matvec).chain(std::iter::once(&r.lm_head)) {
                let frac = b.fraction_of_copy.map(|f| f.show()).unwrap_or_default();
                let _ = writeln!(
                    o,
                    "  {:<28} {:<5} {:>8.1} MB {:>9} ms {:>8} GB/s  {frac}",
                    b.what,
                    b.ty,
                    b.bytes as f64 / 1e6,
                    num(b.seconds * 1e3),
                    num(b.gb_s)
                );
            }
        }
        for p in self.profile.iter().chain(&self.profile_prefill) {
            let _ = if p.batch > 1 {
                writeln!(
                    o,
                    "\nprefill profile ({} tokens; GPU time per token {} us):",
                    p.batch,
                    num(p.gpu_us_per_token)
                )
            } else {
                writeln!(
                    o,
                    "\nprofile at depth {} ({} tokens; GPU time of a token's dispatches {} us):",
                    p.depth,
                    p.steps,
                    num(p.gpu_us_per_token)
                )
            };
            for k in &p.kernels {
                let _ = writeln!(
                    o,
                    "  {:<40} {:>6} x {:>10} us {:>6.1} %",
                    k.kernel,
                    num(k.dispatches_per_token),
                    num(k.us_per_token),
                    100.0 * k.share
                );
            }
        }
        if let Some(rss) = self.memory.peak_rss_bytes {
            let load = self.load.peak_rss_bytes.map(|b| format!("{:.1} MB after load, ", b as f64 / 1e6));
            let _ = writeln!(o, "\npeak RSS: {}{:.1} MB overall", load.unwrap_or_default(), rss as f64 / 1e6);
        }
        let _ = writeln!(o, "bench time: {} s", num(self.bench_s));
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_median_min_max() {
        let s = Stat::of(&[3.0, 1.0, 2.0]);
        assert_eq!((s.median, s.min, s.max, s.n), (2.0, 1.0, 3.0, 3));
        let s = Stat::of(&[4.0, 1.0]);
        assert_eq!((s.median, s.min, s.max), (2.5, 1.0, 4.0));
        assert_eq!(Stat::of(&[]).n, 0);
    }

    #[test]
    fn targets_compare_in_their_direction() {
        assert!(Target::at_most(0.4, 0.5).met);
        assert!(!Target::at_most(0.6, 0.5).met);
        assert!(Target::at_least(0.7, 0.7).met);
        assert!(!Target::at_least(0.2, 0.7).met);
        assert_eq!(num(1.5), "1.5");
        assert_eq!(num(0.0), "0");
    }
}
