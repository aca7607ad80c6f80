//! The `brasa` command line: inspect a GGUF file, generate text, measure perplexity, benchmark.
//! Only generated text (or the bench report) goes to stdout; logs, progress and timings go to
//! stderr.
//!
//! One module per command, each with its arguments (a clap `Args` struct) and what it does;
//! this file holds the command list and what several commands share (loading a model).

mod bench;
mod chat;
mod inspect;
mod options;
mod perplexity;
mod run;
mod selftest;
mod tokenize;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use brasa::generate::Engine;
use brasa::gpu::GpuOptions;
use brasa::kernels::KvType;
use brasa::model::Model;
use brasa::Result;

#[derive(Parser)]
#[command(name = "brasa", version, about = "Run GGUF language models on your GPU")]
struct Cli {
    /// Print the GPU adapter, its limits and the kernel variants chosen (the environment variable
    /// BRASA_VARIANTS=nosubgroups,nof16,nowgmatmul forces the baseline kernels).
    #[arg(long, global = true)]
    verbose: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print a GGUF file's metadata and tensor table.
    Inspect(inspect::Args),
    /// Generate a continuation of a prompt.
    Run(run::Args),
    /// Chat on stdin/stdout: each input line is a user turn; the reply follows on stdout.
    /// The prompt is the model's chat template (or the built-in one for its family).
    Chat(chat::Args),
    /// Print the token ids of a text, like llama.cpp's llama-tokenize (same flags and output).
    /// Reads only the GGUF header: works on vocabulary-only files, needs no GPU.
    Tokenize(tokenize::Args),
    /// Perplexity of a text file, computed as llama.cpp's llama-perplexity does.
    Perplexity(perplexity::Args),
    /// Check every kernel on this GPU against the CPU reference (`brasa::selftest`: each block
    /// type, odd shapes, stated error budgets); prints each check over budget and a summary, and
    /// fails if any is. BRASA_VARIANTS picks the variants, as for the other commands.
    Selftest(selftest::Args),
    /// Benchmark prefill, decode and the kernels (see `brasa::bench`).
    Bench(bench::Args),
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = pollster::block_on(run(cli)) {
        eprintln!("error [{}]: {e}", e.code());
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<()> {
    let verbose = cli.verbose;
    match cli.command {
        Command::Inspect(args) => inspect::inspect(args),
        Command::Run(args) => run::run(args, verbose).await,
        Command::Chat(args) => chat::chat(args, verbose).await,
        Command::Tokenize(args) => tokenize::tokenize(args),
        Command::Perplexity(args) => perplexity::perplexity(args, verbose).await,
        Command::Selftest(args) => selftest::selftest(args, verbose).await,
        Command::Bench(args) => bench::bench(args, verbose).await,
    }
}

/// Streams a GGUF file (or all files of a split model) from disk into GPU buffers of a new
/// device, and says what was loaded on stderr.
async fn load(path: &Path, verbose: bool) -> Result<(Engine, Arc<Model>)> {
    load_with(path, verbose, GpuOptions::default()).await
}

/// [`load`] on a device created with `gpu`.
async fn load_with(path: &Path, verbose: bool, gpu: GpuOptions) -> Result<(Engine, Arc<Model>)> {
    let t0 = web_time::Instant::now();
    let engine = Engine::new(gpu).await?;
    if verbose {
        eprintln!("GPU: {}", engine.gpu_info());
    }
    let model = engine.load_file(path)?;
    eprintln!(
        "loaded {} ({}, {} layers, {:.1} MB of weights) in {:.2} s",
        if model.name.is_empty() { "model" } else { &model.name },
        model.hp.arch.name(),
        model.hp.n_layer,
        model.weight_bytes as f64 / 1e6,
        t0.elapsed().as_secs_f64()
    );
    Ok((engine, Arc::new(model)))
}

/// The callback of `generate` and `chat` that writes each piece of text to stdout as it comes.
fn print_pieces() -> impl FnMut(&str) -> bool {
    let mut out = std::io::stdout();
    move |piece| {
        // A closed stdout (`brasa run … | head`) must not stop generation with a panic.
        let _ = out.write_all(piece.as_bytes());
        let _ = out.flush();
        true
    }
}

/// `--kv-cache`'s values: `f16` or `f32`.
fn parse_kv_type(s: &str) -> std::result::Result<KvType, String> {
    KvType::parse(s).map_err(|e| e.to_string())
}
