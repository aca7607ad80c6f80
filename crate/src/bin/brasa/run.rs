//! `brasa run`: generate a continuation of a prompt, streamed to stdout.

use std::path::PathBuf;

use brasa::generate::{GenParams, Session};
use brasa::Result;

use super::options::{ContextArgs, SamplingArgs};
use super::{load, print_pieces};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, short)]
    model: PathBuf,
    #[arg(long, short)]
    prompt: String,
    #[arg(long, short = 'n', default_value_t = 128)]
    max_tokens: u32,
    #[command(flatten)]
    sampling: SamplingArgs,
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
    #[arg(long)]
    stop: Vec<String>,
    #[command(flatten)]
    context: ContextArgs,
}

pub async fn run(args: Args, verbose: bool) -> Result<()> {
    let (engine, model) = load(&args.model, verbose).await?;
    let mut session = Session::new(&engine, model, args.context.session_options())?;
    let params = GenParams {
        frequency_penalty: args.frequency_penalty,
        presence_penalty: args.presence_penalty,
        penalty_last_n: args.repeat_last_n,
        logit_bias: args.logit_bias,
        stop: args.stop,
        ..args.sampling.params(args.max_tokens)
    };
    let stats = session.generate(&args.prompt, &params, &mut print_pieces()).await?;
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
