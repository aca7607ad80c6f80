//! `brasa tokenize`: a text's token ids, as llama.cpp's llama-tokenize prints them (same flags).

use std::io::{Read, Write};
use std::path::PathBuf;

use brasa::{Error, Result};

#[derive(clap::Args)]
pub struct Args {
    #[arg(long, short)]
    model: PathBuf,
    #[arg(long, short)]
    prompt: Option<String>,
    /// Read the text from a file, byte for byte (takes precedence over --prompt).
    #[arg(long, short)]
    file: Option<PathBuf>,
    /// Read the text from standard input (takes precedence over --file and --prompt).
    #[arg(long)]
    stdin: bool,
    /// Print only the ids, as one list: `[2, 9259, 1902]`.
    #[arg(long)]
    ids: bool,
    /// Do not add BOS even when the model adds one.
    #[arg(long)]
    no_bos: bool,
    /// Keep special-token texts (`<start_of_turn>`, …) as plain text instead of turning them
    /// into their special tokens.
    #[arg(long)]
    no_parse_special: bool,
    /// Take the text literally (by default `\n`, `\t`, `\xHH`… are unescaped, as llama.cpp does).
    #[arg(long)]
    no_escape: bool,
    /// Print the number of tokens at the end.
    #[arg(long)]
    show_count: bool,
}

pub fn tokenize(args: Args) -> Result<()> {
    let bytes = match (args.prompt, args.file, args.stdin) {
        (_, _, true) => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf).map_err(|e| Error::Io(format!("stdin: {e}")))?;
            buf
        }
        (_, Some(f), false) => std::fs::read(&f).map_err(|e| Error::Io(format!("{}: {e}", f.display())))?,
        (Some(p), None, false) => p.into_bytes(),
        (None, None, false) => {
            return Err(Error::InvalidArgument("give the text with --prompt, --file or --stdin".into()))
        }
    };
    let bytes = if args.no_escape { bytes } else { process_escapes(&bytes) };
    let text = String::from_utf8(bytes).map_err(|e| {
        Error::InvalidArgument(format!(
            "the text is not valid UTF-8 (at byte {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let header = brasa::gguf::read_header(&args.model)?;
    let tok = brasa::tokenizer::Tokenizer::from_gguf(&header.metadata)?;
    let tokens = tok.encode(&text, tok.add_bos() && !args.no_bos, !args.no_parse_special);
    // Bytes, not text: a piece may be part of a UTF-8 character (byte tokens), and
    // llama-tokenize writes such pieces raw too.
    let mut out = Vec::new();
    if args.ids {
        let list: Vec<String> = tokens.iter().map(|t| t.to_string()).collect();
        out.extend(format!("[{}]\n", list.join(", ")).into_bytes());
    } else {
        for &t in &tokens {
            out.extend(format!("{t:6} -> '").into_bytes());
            out.extend(tok.token_to_piece(t, true));
            out.extend(b"'\n");
        }
    }
    if args.show_count {
        out.extend(format!("Total number of tokens: {}\n", tokens.len()).into_bytes());
    }
    std::io::stdout().write_all(&out).map_err(|e| Error::Io(format!("stdout: {e}")))?;
    Ok(())
}

/// llama.cpp's prompt unescaping (`string_process_escapes`, applied by llama-tokenize to every
/// input unless `--no-escape`): `\n \r \t \' \" \\` and `\xHH`; any other backslash pair,
/// a `\x` without two hex digits after it, and a trailing backslash stay as they are.
fn process_escapes(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] != b'\\' || i + 1 == input.len() {
            out.push(input[i]);
            i += 1;
            continue;
        }
        let c = input[i + 1];
        i += 2;
        let plain = match c {
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'\'' | b'"' | b'\\' => c,
            b'x' => {
                let hex = input.get(i..i + 2).filter(|h| h.iter().all(u8::is_ascii_hexdigit));
                match hex.and_then(|h| u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                        continue;
                    }
                    None => {
                        out.extend([b'\\', c]);
                        continue;
                    }
                }
            }
            other => {
                out.extend([b'\\', other]);
                continue;
            }
        };
        out.push(plain);
    }
    out
}
