//! Chat templates: turning a conversation into the prompt text a model was trained on.
//!
//! A GGUF file carries its template as Jinja source (`tokenizer.chat_template`), written for
//! Hugging Face's Python renderer. brasa renders it with minijinja (plus minijinja-contrib's
//! Python-compatible string methods such as `.strip()` and `.startswith()`), with the variables
//! templates use: `messages`, `add_generation_prompt`, `bos_token`, `eos_token`, `tools`, and the
//! functions `raise_exception` and `strftime_now`. Files without a template get a built-in one
//! for their family ([`builtin`]). The result equals llama.cpp's rendering byte for byte for
//! the templates in `tests/reference/chat-templates.json` that the test lists.
//!
//! A template is untrusted code from a file: rendering runs with a fuel budget (bounded time)
//! and a bounded output size, and every failure is [`Error::Template`].

pub mod builtin;
mod date;

pub use date::Date;

use minijinja::{Environment, ErrorKind, Value};

use crate::error::{Error, Result};
use crate::gguf::Metadata;
use crate::tokenizer::Tokenizer;

/// Work budget of one rendering, in minijinja fuel: one unit per instruction, and one per 64
/// bytes of every string, list or output a template makes (minijinja refuses an allocation the
/// fuel left cannot pay for). So the fuel bounds both time and memory. A base budget, which a
/// short chat with any real template fits in many times over, plus an allowance per byte of the
/// conversation and per pair of messages, so that long chats render (templates that look back
/// at earlier messages cost more than linear) while a hostile template gets no more than the request justifies, and never
/// more than [`MAX_FUEL`]. The base alone caps a rendering at about 64 MiB of values and a fraction
/// of a second of work; the most at 1 GiB and several seconds (a conversation of thousands of
/// messages).
const BASE_FUEL: u64 = 1_000_000;
const FUEL_PER_MESSAGE_BYTE: u64 = 8;
const FUEL_PER_MESSAGE_PAIR: u64 = 20;
const MAX_FUEL: u64 = 16_000_000;
/// Longest prompt a template may produce.
const MAX_OUTPUT_BYTES: usize = 16 << 20;

/// One turn of a conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// `system`, `user`, `assistant` (or whatever the template knows, e.g. `tool`).
    pub role: String,
    pub content: String,
}

impl Message {
    pub fn new(role: &str, content: &str) -> Self {
        Message { role: role.to_string(), content: content.to_string() }
    }
}

/// Where a template came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateSource {
    /// `tokenizer.chat_template` of the file.
    File,
    /// A built-in template chosen because the file has none.
    Builtin(&'static str),
}

/// A chat template ready to render.
#[derive(Clone, Debug)]
pub struct ChatTemplate {
    source: String,
    pub origin: TemplateSource,
    pub bos_token: String,
    pub eos_token: String,
    /// Whether a system message shows up in the output (Gemma 2's template raises on one):
    /// when not, it is merged into the next message, as llama.cpp does.
    supports_system_role: bool,
    /// Passed to templates that can think before answering (Qwen 3, DeepSeek R1, …); true by
    /// default, as in llama.cpp.
    pub enable_thinking: bool,
    /// The date templates print (`strftime_now`, `date_string`): today (UTC) unless set.
    pub date: Option<Date>,
}

impl ChatTemplate {
    /// A template from Jinja source.
    pub fn new(source: &str, bos_token: &str, eos_token: &str) -> Result<Self> {
        let mut t = ChatTemplate {
            source: without_generation_tags(source),
            origin: TemplateSource::File,
            bos_token: bos_token.to_string(),
            eos_token: eos_token.to_string(),
            supports_system_role: true,
            enable_thinking: true,
            date: None,
        };
        // Parse now, so a broken template is reported at load time.
        environment(None).template_from_str(&t.source).map_err(template_error)?;
        // llama.cpp's capability probe: does a system message's text reach the output?
        const NEEDLE: &str = "<System Needle 7f3a>";
        let probe = [Message::new("system", NEEDLE), Message::new("user", "Hey")];
        t.supports_system_role = t.render_raw(&probe, false).is_ok_and(|out| out.contains(NEEDLE));
        Ok(t)
    }

    /// The file's template, or the built-in one for its family (see [`builtin::for_model`]),
    /// with the texts of the vocabulary's BOS and EOS tokens as `bos_token` / `eos_token`.
    pub fn for_model(md: &Metadata, tok: &Tokenizer) -> Result<Self> {
        let text = |id: Option<u32>| id.and_then(|i| tok.vocab().text(i)).unwrap_or("").to_string();
        let (bos_token, eos_token) = (&text(tok.bos()), &text(tok.eos()));
        if let Some(src) = md.opt_str("tokenizer.chat_template")? {
            return Self::new(src, bos_token, eos_token);
        }
        let arch = md.opt_str("general.architecture")?.unwrap_or("");
        let has = |t: &str| tok.vocab().token_id(t).is_some();
        let b = builtin::for_model(arch, &has);
        let mut t = Self::new(b.source, bos_token, eos_token)?;
        t.origin = TemplateSource::Builtin(b.name);
        Ok(t)
    }

    /// Jinja source of the template.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The prompt for `messages`; with `add_generation_prompt`, it ends where the assistant's
    /// reply begins. When the template has no system role, a leading system message is merged
    /// into the next message (`system + "\n" + content`) or dropped when alone, as llama.cpp does.
    pub fn render(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String> {
        if !self.supports_system_role && messages.first().is_some_and(|m| m.role == "system") {
            let mut merged: Vec<Message> = messages[1..].to_vec();
            if let Some(next) = merged.first_mut() {
                next.content = format!("{}\n{}", messages[0].content, next.content);
            }
            return self.render_raw(&merged, add_generation_prompt);
        }
        self.render_raw(messages, add_generation_prompt)
    }

    fn render_raw(&self, messages: &[Message], add_generation_prompt: bool) -> Result<String> {
        let date = self.date.unwrap_or_else(Date::today);
        let mut env = environment(Some(date));
        env.set_fuel(Some(fuel_for(messages)));
        let tmpl = env.template_from_str(&self.source).map_err(template_error)?;
        let ctx = minijinja::context! {
            messages => messages
                .iter()
                .map(|m| minijinja::context! { role => m.role.as_str(), content => m.content.as_str() })
                .collect::<Vec<_>>(),
            add_generation_prompt => add_generation_prompt,
            bos_token => &self.bos_token,
            eos_token => &self.eos_token,
            enable_thinking => self.enable_thinking,
            // As llama.cpp's extra context (Llama 3.1's template prints `date_string`).
            date_string => date.strftime("%d %b %Y"),
            datetime => date.strftime("%b %d %Y"),
        };
        let mut out = LimitedWriter { buf: Vec::new() };
        tmpl.render_captured_to(ctx, &mut out).map_err(template_error)?;
        String::from_utf8(out.buf).map_err(|_| Error::Template("the template produced invalid UTF-8".into()))
    }
}

/// The fuel a rendering of `messages` gets (see [`BASE_FUEL`]).
fn fuel_for(messages: &[Message]) -> u64 {
    let bytes: u64 = messages.iter().map(|m| (m.role.len() + m.content.len()) as u64).sum();
    let n = messages.len() as u64;
    let allowance = bytes.saturating_mul(FUEL_PER_MESSAGE_BYTE).saturating_add(n * n * FUEL_PER_MESSAGE_PAIR);
    BASE_FUEL.saturating_add(allowance).min(MAX_FUEL)
}

/// The Jinja environment every template renders in; `strftime_now` prints `date`.
fn environment(date: Option<Date>) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
    minijinja_contrib::add_to_environment(&mut env);
    env.set_fuel(Some(BASE_FUEL));
    // As Hugging Face's renderer (and llama.cpp's minja): a block tag's newline is dropped and
    // the whitespace before it on its line is stripped.
    let syntax = minijinja::syntax::SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build();
    if let Ok(syntax) = syntax {
        env.set_syntax(syntax);
    }
    env.add_function("raise_exception", |msg: String| -> Result<Value, minijinja::Error> {
        Err(minijinja::Error::new(ErrorKind::InvalidOperation, msg))
    });
    let date = date.unwrap_or_else(Date::today);
    env.add_function("strftime_now", move |format: String| date.strftime(&format));
    env
}

/// Hugging Face's `{% generation %}` … `{% endgeneration %}` (it marks the assistant's text
/// for training masks and renders its body unchanged) becomes `{% if true %}` … `{% endif %}`,
/// keeping whitespace-control dashes.
fn without_generation_tags(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut rest = src;
    while let Some(open) = rest.find("{%") {
        out.push_str(&rest[..open]);
        let tag = &rest[open..];
        // The close is searched after the opening `{%`: in `{%}` the two overlap.
        let Some(close) = tag[2..].find("%}").map(|c| c + 2) else {
            out.push_str(tag);
            return out;
        };
        let inner = &tag[2..close];
        let (lead, body) = inner.strip_prefix('-').map_or(("", inner), |b| ("-", b));
        let (body, trail) = body.strip_suffix('-').map_or((body, ""), |b| (b, "-"));
        match body.trim() {
            "generation" => out.push_str(&format!("{{%{lead} if true {trail}%}}")),
            "endgeneration" => out.push_str(&format!("{{%{lead} endif {trail}%}}")),
            _ => out.push_str(&tag[..close + 2]),
        }
        rest = &tag[close + 2..];
    }
    out.push_str(rest);
    out
}

fn template_error(e: minijinja::Error) -> Error {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(&e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    Error::Template(msg)
}

/// Collects the output, failing once it passes [`MAX_OUTPUT_BYTES`].
struct LimitedWriter {
    buf: Vec<u8>,
}

impl std::io::Write for LimitedWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + data.len() > MAX_OUTPUT_BYTES {
            return Err(std::io::Error::other(format!("the prompt exceeds {MAX_OUTPUT_BYTES} bytes")));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits() {
        let loop_forever = ChatTemplate::new("{% for i in range(100000000) %}x{% endfor %}", "", "").unwrap();
        let e = loop_forever.render(&[], false).unwrap_err();
        assert_eq!(e.code(), "chat_template", "{e}");
        let raising = ChatTemplate::new("{{ raise_exception('no system role') }}", "", "").unwrap();
        assert!(raising.render(&[], false).unwrap_err().to_string().contains("no system role"));
        assert_eq!(ChatTemplate::new("{% if %}", "", "").unwrap_err().code(), "chat_template");
    }

    #[test]
    fn generation_tags_render_their_body() {
        let src =
            "{%- for m in messages %}{% generation -%} [{{ m.content }}] {%- endgeneration %}{% endfor %}";
        assert_eq!(
            without_generation_tags(src),
            "{%- for m in messages %}{% if true -%} [{{ m.content }}] {%- endif %}{% endfor %}"
        );
        let t = ChatTemplate::new(src, "", "").unwrap();
        assert_eq!(
            t.render(&[Message::new("user", "a"), Message::new("user", "b")], false).unwrap(),
            "[a][b]"
        );
    }

    /// Found by the chat_template fuzzer: a template that doubles a string 40 times allocated
    /// 2.6 GB before the old fuel budget (50 M, which minijinja 3 also charges per 64 bytes of
    /// values) ran out, 20 s later. A short chat now gets the base budget: 64 MiB at most.
    #[test]
    fn a_short_chat_cannot_make_big_values() {
        let hundred_mb = ChatTemplate::new("{{ ('x' * 100000000) | length }}", "", "").unwrap();
        let e = hundred_mb.render(&[Message::new("user", "Hi")], false).unwrap_err();
        assert!(e.to_string().contains("fuel"), "{e}");
        let doubling = "{% set ns = namespace(s='a') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s | length }}";
        let e = ChatTemplate::new(doubling, "", "").unwrap().render(&[], false).unwrap_err();
        assert_eq!(e.code(), "chat_template");
        // 10 MB is within the base budget.
        let ten_mb = ChatTemplate::new("{{ ('x' * 10000000) | length }}", "", "").unwrap();
        assert_eq!(ten_mb.render(&[], false).unwrap(), "10000000");
    }

    /// The budget grows with the conversation: 1,000 messages of 500 bytes through a template that
    /// looks back at every earlier message (quadratic, as some real ones are) still render.
    #[test]
    fn long_chats_get_more_fuel() {
        let text = "x".repeat(500);
        let msgs: Vec<Message> = (0..1000).map(|_| Message::new("user", &text)).collect();
        let looking_back = "{% for m in messages %}{% set i = loop.index0 %}{% for p in messages[:i] %}{% endfor %}{{ m.content[:1] }}{% endfor %}";
        let t = ChatTemplate::new(looking_back, "", "").unwrap();
        assert_eq!(t.render(&msgs, false).unwrap(), "x".repeat(1000));
        assert_eq!(fuel_for(&[]), BASE_FUEL);
        assert!(fuel_for(&msgs) > BASE_FUEL && fuel_for(&msgs) <= MAX_FUEL);
        let huge: Vec<Message> = (0..100_000).map(|_| Message::new("user", "")).collect();
        assert_eq!(fuel_for(&huge), MAX_FUEL);
    }

    /// Found by the chat_template fuzzer: `{%}` (a tag whose `%}` overlaps its `{%`) sliced the
    /// source backwards and panicked; now it is left for minijinja, which reports a syntax error.
    #[test]
    fn overlapping_tag_delimiters_are_a_template_error() {
        assert_eq!(without_generation_tags("a{%}b"), "a{%}b");
        assert_eq!(without_generation_tags("{%}% generation %}x"), "{%}% generation %}x");
        for src in ["{%}", "{%}%}", "x {%} {% endif %}", "{%-}"] {
            let e = ChatTemplate::new(src, "", "").unwrap_err();
            assert_eq!(e.code(), "chat_template", "{src:?}: {e}");
        }
    }

    #[test]
    fn system_messages_merge_where_the_template_has_no_system_role() {
        let src = "{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('no system') }}{% endif %}<{{ m.role }}>{{ m.content }}{% endfor %}";
        let t = ChatTemplate::new(src, "", "").unwrap();
        let msgs = [Message::new("system", "Be brief."), Message::new("user", "Hi")];
        assert_eq!(t.render(&msgs, false).unwrap(), "<user>Be brief.\nHi");
        assert_eq!(t.render(&msgs[..1], false).unwrap(), "");
    }
}
