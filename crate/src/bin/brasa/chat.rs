//! `brasa chat`: a conversation on stdin/stdout, through the model's chat template.

use std::io::Write;
use std::path::PathBuf;

use brasa::chat::Message;
use brasa::generate::{GenParams, Session};
use brasa::kernels::KvType;
use brasa::{Error, Result};

use super::{load, parse_kv_type, session_options};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, short)]
    model: PathBuf,
    /// A system message at the start of the conversation.
    #[arg(long)]
    system: Option<String>,
    #[arg(long, short = 'n', default_value_t = 512)]
    max_tokens: u32,
    #[arg(long, default_value_t = 0.0)]
    temperature: f32,
    #[arg(long, default_value_t = 40)]
    top_k: u32,
    #[arg(long, default_value_t = 1.0)]
    top_p: f32,
    #[arg(long, default_value_t = 0.0)]
    min_p: f32,
    #[arg(long, default_value_t = 1.0)]
    repeat_penalty: f32,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[arg(long, default_value_t = 4096)]
    ctx_size: u32,
    /// When the conversation outgrows the context, drop its oldest turns (keeping the system
    /// prompt), and within a reply the oldest half of the context, instead of stopping.
    #[arg(long)]
    context_shift: bool,
    /// K/V cache type: f16 (half the memory, llama.cpp's default) or f32 (exact).
    #[arg(long, default_value = "f16", value_parser = parse_kv_type)]
    kv_cache: KvType,
    /// Print the rendered prompt of each turn on stderr.
    #[arg(long)]
    show_prompt: bool,
}

pub async fn chat(args: Args, verbose: bool) -> Result<()> {
    let (engine, model) = load(&args.model, verbose).await?;
    let template = model.chat_template.clone().ok_or_else(|| {
        Error::Template("the model's chat template could not be parsed (see the warning above)".into())
    })?;
    eprintln!("chat template: {:?}; type a message, end with Ctrl-D", template.origin);
    let mut session =
        Session::new(&engine, model, session_options(args.ctx_size, args.context_shift, args.kv_cache))?;
    let params = GenParams {
        max_tokens: args.max_tokens,
        temperature: args.temperature,
        top_k: args.top_k,
        top_p: args.top_p,
        min_p: args.min_p,
        repeat_penalty: args.repeat_penalty,
        seed: args.seed,
        ..Default::default()
    };
    let mut messages: Vec<Message> = args.system.iter().map(|s| Message::new("system", s)).collect();
    let mut out = std::io::stdout();
    for line in std::io::stdin().lines() {
        let line = line.map_err(|e| Error::Io(format!("stdin: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        messages.push(Message::new("user", &line));
        if args.show_prompt {
            eprintln!("--- prompt ---\n{}\n--------------", template.render(&messages, true)?);
        }
        let stats = session
            .chat(&messages, &params, &mut |piece| {
                let _ = out.write_all(piece.as_bytes());
                let _ = out.flush();
                true
            })
            .await?;
        println!();
        eprintln!(
            "[{} prompt tokens, {} generated, {:.1} tok/s, finish: {:?}]",
            stats.prompt_tokens,
            stats.generated_tokens,
            stats.decode_tok_s(),
            stats.finish
        );
        messages.push(Message::new("assistant", stats.text.trim()));
    }
    Ok(())
}
