//! `brasa run`: generate a continuation of a prompt, streamed to stdout.

use std::io::Write;
use std::path::PathBuf;

use brasa::generate::{GenParams, Session};
use brasa::kernels::KvType;
use brasa::Result;

use super::{load, parse_kv_type, session_options};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, short)]
    model: PathBuf,
    #[arg(long, short)]
    prompt: String,
    #[arg(long, short = 'n', default_value_t = 128)]
    max_tokens: u32,
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    #[arg(long, default_value_t = 40)]
    top_k: u32,
    /// Nucleus sampling (1: off).
    #[arg(long, default_value_t = 1.0)]
    top_p: f32,
    /// Drop tokens less likely than this fraction of the most likely one (0: off).
    #[arg(long, default_value_t = 0.0)]
    min_p: f32,
    /// Penalize recent tokens, as llama.cpp's --repeat-penalty (1: off).
    #[arg(long, default_value_t = 1.0)]
    repeat_penalty: f32,
    /// Recent tokens the penalties look at (llama.cpp's --repeat-last-n).
    #[arg(long, default_value_t = 64)]
    repeat_last_n: u32,
    #[arg(long, default_value_t = 0.0)]
    frequency_penalty: f32,
    #[arg(long, default_value_t = 0.0)]
    presence_penalty: f32,
    /// `ID+BIAS` or `ID-BIAS` (llama.cpp's --logit-bias), repeatable; `ID-inf` bans a token.
    #[arg(long, value_parser = parse_logit_bias, allow_hyphen_values = true)]
    logit_bias: Vec<(u32, f32)>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long)]
    stop: Vec<String>,
    #[arg(long, default_value_t = 4096)]
    ctx_size: u32,
    /// When the context is full, drop the oldest half of it (keeping BOS and the system
    /// prompt) and go on, instead of stopping.
    #[arg(long)]
    context_shift: bool,
    /// K/V cache type: f16 (half the memory, llama.cpp's default) or f32 (exact).
    #[arg(long, default_value = "f16", value_parser = parse_kv_type)]
    kv_cache: KvType,
}

pub async fn run(args: Args, verbose: bool) -> Result<()> {
    let (engine, model) = load(&args.model, verbose).await?;
    let mut session =
        Session::new(&engine, model, session_options(args.ctx_size, args.context_shift, args.kv_cache))?;
    let params = GenParams {
        max_tokens: args.max_tokens,
        temperature: args.temperature,
        top_k: args.top_k,
        top_p: args.top_p,
        min_p: args.min_p,
        repeat_penalty: args.repeat_penalty,
        frequency_penalty: args.frequency_penalty,
        presence_penalty: args.presence_penalty,
        penalty_last_n: args.repeat_last_n,
        logit_bias: args.logit_bias,
        seed: args.seed,
        stop: args.stop,
        ..Default::default()
    };
    let mut out = std::io::stdout();
    let stats = session
        .generate(&args.prompt, &params, &mut |piece| {
            let _ = out.write_all(piece.as_bytes());
            let _ = out.flush();
            true
        })
        .await?;
    println!();
    eprintln!(
        "prompt: {} tokens in {:.2} s ({:.1} tok/s); generated {} tokens, decode {:.1} tok/s; finish: {:?}",
        stats.prompt_tokens,
        stats.prefill_s,
        stats.prefill_tok_s(),
        stats.generated_tokens,
        stats.decode_tok_s(),
        stats.finish
    );
    Ok(())
}

/// `ID+BIAS` / `ID-BIAS` (llama.cpp's `--logit-bias` syntax; `inf` allowed).
fn parse_logit_bias(s: &str) -> std::result::Result<(u32, f32), String> {
    let at = s.find(['+', '-']).ok_or_else(|| format!("{s:?}: expected ID+BIAS or ID-BIAS"))?;
    let id = s[..at].parse::<u32>().map_err(|e| format!("{s:?}: token id: {e}"))?;
    let bias = s[at..].parse::<f32>().map_err(|e| format!("{s:?}: bias: {e}"))?;
    Ok((id, bias))
}
