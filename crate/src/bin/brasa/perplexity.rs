//! `brasa perplexity`: the perplexity of a text file, computed as llama.cpp's llama-perplexity
//! does.

use std::path::PathBuf;

use brasa::generate::PerplexityOptions;
use brasa::kernels::KvType;
use brasa::{Error, Result};

use super::{load, parse_kv_type};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, short)]
    model: PathBuf,
    #[arg(long, short)]
    file: PathBuf,
    #[arg(long, short = 'c', default_value_t = 512)]
    ctx_size: u32,
    /// Evaluate only the first N chunks.
    #[arg(long)]
    chunks: Option<usize>,
    /// K/V cache type: f16 (half the memory, llama.cpp's default) or f32 (exact).
    #[arg(long, default_value = "f16", value_parser = parse_kv_type)]
    kv_cache: KvType,
}

pub async fn perplexity(args: Args, verbose: bool) -> Result<()> {
    let file = &args.file;
    let text = std::fs::read_to_string(file).map_err(|e| Error::Io(format!("{}: {e}", file.display())))?;
    let (engine, model) = load(&args.model, verbose).await?;
    let opts = PerplexityOptions { ctx_size: args.ctx_size, max_chunks: args.chunks, kv_type: args.kv_cache };
    let r = brasa::generate::perplexity(&engine, &model, &text, opts, &mut |i, ppl| {
        eprint!("[{}]{ppl:.4},", i + 1);
    })
    .await?;
    eprintln!();
    eprintln!("{} tokens, {} chunks of {}, {:.1} s", r.tokens, r.chunks, args.ctx_size, r.seconds);
    println!("Final estimate: PPL = {:.4} +/- {:.5}", r.ppl, r.ppl_error);
    Ok(())
}
