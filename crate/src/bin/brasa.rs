//! The `brasa` command line: inspect a GGUF file, generate text, measure perplexity, benchmark.
//! Only generated text (or the bench report) goes to stdout; logs, progress and timings go to
//! stderr.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Parser, Subcommand};

use brasa::bench::{BenchInput, BenchOptions, LoadReport};
use brasa::generate::{
    perplexity, ContextOverflow, Engine, GenParams, PerplexityOptions, Session, SessionOptions,
};
use brasa::gpu::GpuOptions;
use brasa::kernels::KvType;
use brasa::model::Model;
use brasa::{Error, Result};

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
    Inspect { model: PathBuf },
    /// Generate a continuation of a prompt.
    Run {
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
    },
    /// Chat on stdin/stdout: each input line is a user turn; the reply follows on stdout.
    /// The prompt is the model's chat template (or the built-in one for its family).
    Chat {
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
    },
    /// Print the token ids of a text, like llama.cpp's llama-tokenize (same flags and output).
    /// Reads only the GGUF header: works on vocabulary-only files, needs no GPU.
    Tokenize {
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
    },
    /// Perplexity of a text file, computed as llama.cpp's llama-perplexity does.
    Perplexity {
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
    },
    /// Check every kernel on this GPU against the CPU reference (`brasa::selftest`: each block
    /// type, odd shapes, stated error budgets); prints each check over budget and a summary, and
    /// fails if any is. BRASA_VARIANTS picks the variants, as for the other commands.
    Selftest {
        /// Suites to run (default: all that need no data files; see `--list`).
        #[arg(long, value_delimiter = ',')]
        suites: Vec<String>,
        /// Print the suites and exit.
        #[arg(long)]
        list: bool,
        /// Print every check, not only those over budget.
        #[arg(long)]
        all: bool,
    },
    /// Benchmark prefill, decode and the kernels (see `brasa::bench`).
    Bench {
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
    },
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = pollster::block_on(run(cli)) {
        eprintln!("error [{}]: {e}", e.code());
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Selftest { suites, list, all } => selftest(&suites, list, all, cli.verbose).await,
        Command::Inspect { model } => inspect(&model),
        Command::Run {
            model,
            prompt,
            max_tokens,
            temperature,
            top_k,
            top_p,
            min_p,
            repeat_penalty,
            repeat_last_n,
            frequency_penalty,
            presence_penalty,
            logit_bias,
            seed,
            stop,
            ctx_size,
            context_shift,
            kv_cache,
        } => {
            let (engine, model) = load(&model, cli.verbose).await?;
            let mut session =
                Session::new(&engine, model, session_options(ctx_size, context_shift, kv_cache))?;
            let params = GenParams {
                max_tokens,
                temperature,
                top_k,
                top_p,
                min_p,
                repeat_penalty,
                frequency_penalty,
                presence_penalty,
                penalty_last_n: repeat_last_n,
                logit_bias,
                seed,
                stop,
                ..Default::default()
            };
            let mut out = std::io::stdout();
            let stats = session
                .generate(&prompt, &params, &mut |piece| {
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
        Command::Tokenize {
            model,
            prompt,
            file,
            stdin,
            ids,
            no_bos,
            no_parse_special,
            no_escape,
            show_count,
        } => {
            let bytes = match (prompt, file, stdin) {
                (Some(p), _, _) => p.into_bytes(),
                (None, Some(f), _) => {
                    std::fs::read(&f).map_err(|e| Error::Io(format!("{}: {e}", f.display())))?
                }
                (None, None, true) => {
                    let mut buf = Vec::new();
                    std::io::stdin().read_to_end(&mut buf).map_err(|e| Error::Io(format!("stdin: {e}")))?;
                    buf
                }
                (None, None, false) => {
                    return Err(Error::InvalidArgument(
                        "give the text with --prompt, --file or --stdin".into(),
                    ))
                }
            };
            let bytes = if no_escape { bytes } else { process_escapes(&bytes) };
            let text = String::from_utf8(bytes).map_err(|e| {
                Error::InvalidArgument(format!(
                    "the text is not valid UTF-8 (at byte {})",
                    e.utf8_error().valid_up_to()
                ))
            })?;
            let header = brasa::gguf::read_header(&model)?;
            let tok = brasa::tokenizer::Tokenizer::from_gguf(&header.metadata)?;
            let tokens = tok.encode(&text, tok.add_bos() && !no_bos, !no_parse_special);
            // Bytes, not text: a piece may be part of a UTF-8 character (byte tokens), and
            // llama-tokenize writes such pieces raw too.
            let mut out = Vec::new();
            if ids {
                let list: Vec<String> = tokens.iter().map(|t| t.to_string()).collect();
                out.extend(format!("[{}]\n", list.join(", ")).into_bytes());
            } else {
                for &t in &tokens {
                    out.extend(format!("{t:6} -> '").into_bytes());
                    out.extend(tok.token_to_piece(t, true));
                    out.extend(b"'\n");
                }
            }
            if show_count {
                out.extend(format!("Total number of tokens: {}\n", tokens.len()).into_bytes());
            }
            std::io::stdout().write_all(&out).map_err(|e| Error::Io(format!("stdout: {e}")))?;
            Ok(())
        }
        Command::Chat {
            model,
            system,
            max_tokens,
            temperature,
            top_k,
            top_p,
            min_p,
            repeat_penalty,
            seed,
            ctx_size,
            context_shift,
            kv_cache,
            show_prompt,
        } => {
            let (engine, model) = load(&model, cli.verbose).await?;
            let template = model.chat_template.clone().ok_or_else(|| {
                Error::Template(
                    "the model's chat template could not be parsed (see the warning above)".into(),
                )
            })?;
            eprintln!("chat template: {:?}; type a message, end with Ctrl-D", template.origin);
            let mut session =
                Session::new(&engine, model, session_options(ctx_size, context_shift, kv_cache))?;
            let params = GenParams {
                max_tokens,
                temperature,
                top_k,
                top_p,
                min_p,
                repeat_penalty,
                seed,
                ..Default::default()
            };
            let mut messages: Vec<brasa::chat::Message> =
                system.iter().map(|s| brasa::chat::Message::new("system", s)).collect();
            let mut out = std::io::stdout();
            for line in std::io::stdin().lines() {
                let line = line.map_err(|e| Error::Io(format!("stdin: {e}")))?;
                if line.trim().is_empty() {
                    continue;
                }
                messages.push(brasa::chat::Message::new("user", &line));
                if show_prompt {
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
                messages.push(brasa::chat::Message::new("assistant", stats.text.trim()));
            }
            Ok(())
        }
        Command::Perplexity { model, file, ctx_size, chunks, kv_cache } => {
            let text =
                std::fs::read_to_string(&file).map_err(|e| Error::Io(format!("{}: {e}", file.display())))?;
            let (engine, model) = load(&model, cli.verbose).await?;
            let opts = PerplexityOptions { ctx_size, max_chunks: chunks, kv_type: kv_cache };
            let r = perplexity(&engine, &model, &text, opts, &mut |i, ppl| {
                eprint!("[{}]{ppl:.4},", i + 1);
            })
            .await?;
            eprintln!();
            eprintln!("{} tokens, {} chunks of {ctx_size}, {:.1} s", r.tokens, r.chunks, r.seconds);
            println!("Final estimate: PPL = {:.4} +/- {:.5}", r.ppl, r.ppl_error);
            Ok(())
        }
        Command::Bench {
            model,
            json,
            prompt_sizes,
            decode_tokens,
            depths,
            reps,
            no_roofline,
            profile,
            text,
            kv_cache,
        } => {
            let text_path = text.unwrap_or_else(default_text);
            let text = std::fs::read_to_string(&text_path)
                .map_err(|e| Error::Io(format!("{}: {e}", text_path.display())))?;
            let file_bytes = std::fs::metadata(&model)?.len();
            eprintln!("bench: loading {}", model.display());
            let t0 = web_time::Instant::now();
            let gpu = GpuOptions { timestamps: profile, ..Default::default() };
            let (engine, model) = load_with(&model, cli.verbose, gpu).await?;
            let counters = engine.ctx.counters();
            let load = LoadReport {
                seconds: t0.elapsed().as_secs_f64(),
                buffers_created: counters.buffers_created,
                buffer_bytes_created: counters.buffer_bytes_created,
                peak_rss_bytes: brasa::bench::peak_rss_bytes(),
            };
            let opts = BenchOptions {
                prompt_sizes,
                decode_tokens,
                depths,
                reps,
                roofline: !no_roofline,
                profile,
                kv_type: kv_cache,
            };
            let source = text_path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let input = BenchInput { text: &text, text_source: source, file_bytes, load };
            let t = web_time::Instant::now();
            let report = brasa::bench::run(&engine, &model, input, &opts, &mut |step| {
                eprintln!("bench: [{:6.1} s] {step}", t.elapsed().as_secs_f64());
            })
            .await?;
            if json {
                let out = serde_json::to_string_pretty(&report)
                    .map_err(|e| Error::InvalidArgument(format!("bench report: {e}")))?;
                println!("{out}");
            } else {
                print!("{}", report.to_table());
            }
            Ok(())
        }
    }
}

/// The repository's English sample text, found from the current directory or the binary's
/// location (target/…/brasa in a checkout).
/// `ID+BIAS` / `ID-BIAS` (llama.cpp's `--logit-bias` syntax; `inf` allowed).
fn parse_logit_bias(s: &str) -> std::result::Result<(u32, f32), String> {
    let at = s.find(['+', '-']).ok_or_else(|| format!("{s:?}: expected ID+BIAS or ID-BIAS"))?;
    let id = s[..at].parse::<u32>().map_err(|e| format!("{s:?}: token id: {e}"))?;
    let bias = s[at..].parse::<f32>().map_err(|e| format!("{s:?}: bias: {e}"))?;
    Ok((id, bias))
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

fn session_options(ctx_size: u32, context_shift: bool, kv_type: KvType) -> SessionOptions {
    let overflow = if context_shift { ContextOverflow::Slide { keep: None } } else { ContextOverflow::Stop };
    SessionOptions { ctx_size, overflow, kv_type, ..Default::default() }
}

fn parse_kv_type(s: &str) -> std::result::Result<KvType, String> {
    KvType::parse(s).map_err(|e| e.to_string())
}

/// Streams a GGUF file (or all files of a split model) from disk into GPU buffers.
/// `brasa selftest`: the kernel self-test on this machine's GPU (the suites the kernel tests run).
async fn selftest(names: &[String], list: bool, all: bool, verbose: bool) -> Result<()> {
    use brasa::selftest::{SelfTest, Suite};
    if list {
        for s in Suite::ALL {
            println!("{}", s.name());
        }
        return Ok(());
    }
    // The gguf oracle needs the repository's test data: only when asked for (the native tests
    // run it).
    let suites: Vec<Suite> = if names.is_empty() {
        Suite::ALL.into_iter().filter(|&s| s != Suite::GgufOracle).collect()
    } else {
        names.iter().map(|n| Suite::parse(n)).collect::<Result<_>>()?
    };
    let engine = Engine::new(GpuOptions::default()).await?;
    if verbose {
        eprintln!("GPU: {}", engine.gpu_info());
    }
    let report = SelfTest::new(&engine.ctx, &engine.kernels).run_all(&suites).await;
    for c in report.checks.iter().filter(|c| all || !c.passed()) {
        println!("{} {c}", if c.passed() { "ok  " } else { "FAIL" });
    }
    let failed = report.checks.iter().filter(|c| !c.passed()).count();
    println!(
        "{} checks in {} suites on {:?}: {} over budget ({:.1} s)",
        report.checks.len(),
        suites.len(),
        report.variants,
        failed,
        report.seconds
    );
    if failed > 0 {
        return Err(Error::Gpu(format!("{failed} kernel checks over their error budget")));
    }
    Ok(())
}

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

fn inspect(path: &Path) -> Result<()> {
    let file = brasa::gguf::read_header(path)?;
    println!(
        "GGUF v{}  {} bytes  data at {}  alignment {}",
        file.version, file.file_len, file.data_offset, file.alignment
    );
    println!("metadata ({} keys):", file.metadata.entries.len());
    for (k, v) in &file.metadata.entries {
        println!("  {k} = {}", summarize(v));
    }
    println!("tensors ({}):", file.tensors.len());
    for t in &file.tensors {
        println!(
            "  {:<36} {:<6} {:>20} {:>12} bytes @ {}",
            t.name,
            brasa::quant::QuantType::ggml_name(t.type_id),
            format!("{:?}", t.dims),
            t.n_bytes,
            t.offset
        );
    }
    Ok(())
}

/// One line for a metadata value: arrays show their length and first elements.
fn summarize(v: &brasa::gguf::Value) -> String {
    use brasa::gguf::{ArrayValue as A, Value as V};
    fn head<T: std::fmt::Debug>(kind: &str, xs: &[T]) -> String {
        let shown: Vec<String> = xs.iter().take(6).map(|x| format!("{x:?}")).collect();
        let more = if xs.len() > 6 { ", …" } else { "" };
        format!("[{kind}; {}] [{}{more}]", xs.len(), shown.join(", "))
    }
    match v {
        V::Array(a) => match a {
            A::U8(x) => head("u8", x),
            A::I8(x) => head("i8", x),
            A::U16(x) => head("u16", x),
            A::I16(x) => head("i16", x),
            A::U32(x) => head("u32", x),
            A::I32(x) => head("i32", x),
            A::F32(x) => head("f32", x),
            A::Bool(x) => head("bool", x),
            A::String(x) => head("str", x),
            A::Array(x) => format!("[array; {}]", x.len()),
            A::U64(x) => head("u64", x),
            A::I64(x) => head("i64", x),
            A::F64(x) => head("f64", x),
        },
        V::String(s) if s.len() > 120 => format!("{:?}…", &s[..s.floor_char_boundary(120)]),
        other => format!("{other:?}"),
    }
}
