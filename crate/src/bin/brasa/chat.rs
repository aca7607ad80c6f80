//! `brasa chat`: a conversation on stdin/stdout, through the model's chat template.

use std::path::PathBuf;

use brasa::chat::Message;
use brasa::generate::Session;
use brasa::{Error, Result};

use super::options::{ContextArgs, SamplingArgs};
use super::{load, print_pieces};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, short)]
    model: PathBuf,
    /// A system message at the start of the conversation.
    #[arg(long)]
    system: Option<String>,
    #[arg(long, short = 'n', default_value_t = 512)]
    max_tokens: u32,
    #[command(flatten)]
    sampling: SamplingArgs,
    #[command(flatten)]
    context: ContextArgs,
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
    let mut session = Session::new(&engine, model, args.context.session_options())?;
    let params = args.sampling.params(args.max_tokens);
    let mut messages: Vec<Message> = args.system.iter().map(|s| Message::new("system", s)).collect();
    for line in std::io::stdin().lines() {
        let line = line.map_err(|e| Error::Io(format!("stdin: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        messages.push(Message::new("user", &line));
        if args.show_prompt {
            eprintln!("--- prompt ---\n{}\n--------------", template.render(&messages, true)?);
        }
        let stats = session.chat(&messages, &params, &mut print_pieces()).await?;
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
