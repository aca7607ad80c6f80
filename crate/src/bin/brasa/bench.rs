//! `brasa bench`: prefill, decode and kernel timings of a model (see `brasa::bench`), as a table
//! or one JSON object.

use std::path::{Path, PathBuf};

use brasa::bench::{BenchInput, BenchOptions, LoadReport};
use brasa::gpu::GpuOptions;
use brasa::kernels::KvType;
use brasa::{Error, Result};

use super::{load_with, parse_kv_type};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, short)]
    model: PathBuf,
    /// Print the report as one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Prompt lengths whose prefill is timed (BOS included).
    #[arg(long, value_delimiter = ',', default_values_t = [16, 128, 512])]
    prompt_sizes: Vec<u32>,
    /// Decode steps timed at each depth.
    #[arg(long, default_value_t = 128)]
    decode_tokens: u32,
    /// Tokens in the cache when decoding starts.
    #[arg(long, value_delimiter = ',', default_values_t = [0, 2048])]
    depths: Vec<u32>,
    /// Repetitions of each measurement.
    #[arg(long, default_value_t = 1)]
    reps: u32,
    /// Skip timing the copy and mat-vec kernels.
    #[arg(long)]
    no_roofline: bool,
    /// Also time every kernel of a decoded token at each depth (GPU timestamps: needs an
    /// adapter with timestamp queries inside compute passes).
    #[arg(long)]
    profile: bool,
    /// Text the prompts are taken from (default: the repository's tests/reference/texts/en.txt).
    #[arg(long)]
    text: Option<PathBuf>,
    /// K/V cache type: f16 (half the memory, llama.cpp's default) or f32 (exact).
    #[arg(long, default_value = "f16", value_parser = parse_kv_type)]
    kv_cache: KvType,
}

pub async fn bench(args: Args, verbose: bool) -> Result<()> {
    let text_path = args.text.unwrap_or_else(default_text);
    let text = std::fs::read_to_string(&text_path)
        .map_err(|e| Error::Io(format!("{}: {e}", text_path.display())))?;
    let file_bytes = std::fs::metadata(&args.model)?.len();
    eprintln!("bench: loading {}", args.model.display());
    let t0 = web_time::Instant::now();
    let gpu = GpuOptions { timestamps: args.profile, ..Default::default() };
    let (engine, model) = load_with(&args.model, verbose, gpu).await?;
    let counters = engine.ctx.counters();
    let load = LoadReport {
        seconds: t0.elapsed().as_secs_f64(),
        buffers_created: counters.buffers_created,
        buffer_bytes_created: counters.buffer_bytes_created,
        peak_rss_bytes: brasa::bench::peak_rss_bytes(),
    };
    let opts = BenchOptions {
        prompt_sizes: args.prompt_sizes,
        decode_tokens: args.decode_tokens,
        depths: args.depths,
        reps: args.reps,
        roofline: !args.no_roofline,
        profile: args.profile,
        kv_type: args.kv_cache,
    };
    let source = text_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let input = BenchInput { text: &text, text_source: source, file_bytes, load };
    let t = web_time::Instant::now();
    let report = brasa::bench::run(&engine, &model, input, &opts, &mut |step| {
        eprintln!("bench: [{:6.1} s] {step}", t.elapsed().as_secs_f64());
    })
    .await?;
    if args.json {
        let out = serde_json::to_string_pretty(&report)
            .map_err(|e| Error::InvalidArgument(format!("bench report: {e}")))?;
        println!("{out}");
    } else {
        print!("{}", report.to_table());
    }
    Ok(())
}

/// The repository's English sample text, found from the current directory or the binary's
/// location (target/…/brasa in a checkout).
fn default_text() -> PathBuf {
    let rel = Path::new("tests/reference/texts/en.txt");
    let exe_dirs = std::env::current_exe()
        .ok()
        .into_iter()
        .flat_map(|p| p.ancestors().skip(1).map(Path::to_path_buf).collect::<Vec<_>>());
    let cwd = std::env::current_dir()
        .ok()
        .into_iter()
        .flat_map(|p| p.ancestors().map(Path::to_path_buf).collect::<Vec<_>>());
    cwd.chain(exe_dirs).map(|d| d.join(rel)).find(|p| p.exists()).unwrap_or_else(|| rel.to_path_buf())
}
