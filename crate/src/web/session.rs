//! `Session` and `perplexity` in JS: text generation and scoring over a loaded model.
//!
//! Thin wrappers over [`crate::generate`]: they convert the JS parameter object into
//! [`GenParams`], forward streamed text to a JS callback, and return plain JS objects.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use super::{js_error, set, Engine, Model};
use crate::generate::{self, ContextOverflow, FinishReason, GenParams, PerplexityOptions, SessionOptions};
use crate::kernels::KvType;
use crate::Error;

/// A conversation state (KV cache) over one model.
#[wasm_bindgen]
pub struct Session {
    // RefCell: `generate` is async and borrows the session across awaits; a second call while one
    // runs gets an error instead of a panic.
    inner: RefCell<generate::Session>,
}

#[wasm_bindgen]
impl Session {
    /// `ctx_size`: the K/V cache capacity in tokens (0: the default, 4096). `context_shift`:
    /// when the context is full, drop its oldest half (keeping BOS and, in `chat`, the system
    /// prompt; a conversation that outgrows the context loses its oldest turns) instead of
    /// finishing with `context_full`. `kv_cache`: `"f16"` (the default: half the memory) or
    /// `"f32"`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        engine: &Engine,
        model: &Model,
        ctx_size: u32,
        context_shift: Option<bool>,
        kv_cache: Option<String>,
    ) -> Result<Session, JsValue> {
        let mut opts = SessionOptions::default();
        if let Some(kv) = kv_cache {
            opts.kv_type = KvType::parse(&kv).map_err(js_error)?;
        }
        if ctx_size > 0 {
            opts.ctx_size = ctx_size;
        }
        if context_shift == Some(true) {
            opts.overflow = ContextOverflow::Slide { keep: None };
        }
        let s = generate::Session::new(&engine.inner, model.inner.clone(), opts).map_err(js_error)?;
        Ok(Session { inner: RefCell::new(s) })
    }

    /// Forgets the conversation: the next `generate` starts from an empty context (with BOS).
    pub fn reset(&self) -> Result<(), JsValue> {
        let mut session = self
            .inner
            .try_borrow_mut()
            .map_err(|_| js_error(Error::InvalidArgument("this session is generating".into())))?;
        session.reset();
        Ok(())
    }

    /// A new session holding a copy of this one's K/V cache and conversation (a GPU copy, no
    /// evaluation): it goes on from the same state, independently. It costs a second K/V cache.
    pub fn fork(&self) -> Result<Session, JsValue> {
        let session = self
            .inner
            .try_borrow()
            .map_err(|_| js_error(Error::InvalidArgument("this session is generating".into())))?;
        let copy = session.fork().map_err(js_error)?;
        Ok(Session { inner: RefCell::new(copy) })
    }

    /// Generates a continuation of `prompt`. `params`: `{maxTokens, temperature, topK, topP,
    /// minP, repetitionPenalty, frequencyPenalty, presencePenalty, penaltyLastN, logitBias
    /// ({tokenId: bias}, -Infinity bans), seed, stop, ignoreEos, logprobs, topLogprobs}` (all
    /// optional; `ignoreEos: true` generates exactly `maxTokens` tokens). `on_text(piece,
    /// logprobs)` receives the text as it is produced — with `logprobs: true` also the
    /// log-probabilities of the tokens read since the previous piece, shaped as in the result;
    /// returning `false` stops generation, throwing stops it and rejects with that exception.
    /// Resolves to `{text, tokens, promptTokens, generatedTokens, prefillS, decodeS, ttftS,
    /// prefillTokS, decodeTokS, finish, contextShifts, decodeSteps, dispatchesPerToken,
    /// weightBytesPerToken, weightReadRatio, bindGroupsPerToken, buffersPerToken,
    /// hostMsPerToken}`: `tokens` holds the generated ids (a `Uint32Array`); `decodeTokS`
    /// counts the tokens after the first, which comes out of prefill; `finish` is `stop`,
    /// `length`, `context_full` or `cancelled`. The per-token figures average the decode steps
    /// (the tokens after the first); `weightReadRatio` divides weight bytes read per token by the
    /// model's GGUF weight bytes; `hostMsPerToken` is host time recording and encoding a step.
    // Holding the RefCell borrow across awaits is the point: a second call while one runs
    // fails `try_borrow_mut` with an error instead of interleaving on one K/V cache.
    #[allow(clippy::await_holding_refcell_ref)]
    pub async fn generate(
        &self,
        prompt: String,
        params: JsValue,
        on_text: js_sys::Function,
    ) -> Result<js_sys::Object, JsValue> {
        self.run(Input::Prompt(prompt), params, on_text).await
    }

    /// The assistant's reply to `messages` (`[{role, content}, …]`, the whole conversation),
    /// rendered with the model's chat template; parameters, callback and result as `generate`.
    /// The cache keeps the longest token prefix shared with the previous call, so a follow-up
    /// turn evaluates only its new tokens (`cachedTokens` in the result); with `contextShift`,
    /// a conversation that outgrows the context loses its oldest turns, never the system prompt.
    #[allow(clippy::await_holding_refcell_ref)]
    pub async fn chat(
        &self,
        messages: JsValue,
        params: JsValue,
        on_text: js_sys::Function,
    ) -> Result<js_sys::Object, JsValue> {
        self.run(Input::Messages(super::loader::chat_messages(&messages)?), params, on_text).await
    }
}

/// What a generation starts from.
enum Input {
    Prompt(String),
    Messages(Vec<crate::chat::Message>),
}

impl Session {
    #[allow(clippy::await_holding_refcell_ref)]
    async fn run(
        &self,
        input: Input,
        params: JsValue,
        on_text: js_sys::Function,
    ) -> Result<js_sys::Object, JsValue> {
        let params = gen_params(&params)?;
        let mut session = self
            .inner
            .try_borrow_mut()
            .map_err(|_| js_error(Error::InvalidArgument("this session is already generating".into())))?;
        let mut thrown: Option<JsValue> = None;
        let model = session.model().clone(); // the callback reads its tokenizer while the session runs
        let tok = &model.tokenizer;
        let want_logprobs = params.logprobs;
        // With `logprobs`, each piece comes with its tokens' log-probabilities (OpenAI streams
        // them per chunk).
        let mut callback = |piece: &str, lps: &[crate::generate::TokenLogprobs]| {
            let lps = if want_logprobs { logprobs_array(tok, lps).into() } else { JsValue::UNDEFINED };
            match on_text.call2(&JsValue::NULL, &piece.into(), &lps) {
                // Only an explicit `false` stops; `undefined` (no return) continues.
                Ok(v) => v.as_bool() != Some(false),
                Err(e) => {
                    thrown = Some(e);
                    false
                }
            }
        };
        let result = match &input {
            Input::Prompt(prompt) => session.generate_streamed(prompt, &params, &mut callback).await,
            Input::Messages(messages) => session.chat_streamed(messages, &params, &mut callback).await,
        };
        if let Some(e) = thrown {
            return Err(e);
        }
        let s = result.map_err(js_error)?;
        let o = js_sys::Object::new();
        set(&o, "text", s.text.as_str().into());
        set(&o, "promptTokens", (s.prompt_tokens as f64).into());
        set(&o, "cachedTokens", (s.cached_tokens as f64).into());
        set(&o, "generatedTokens", (s.generated_tokens as f64).into());
        set(&o, "prefillS", s.prefill_s.into());
        set(&o, "decodeS", s.decode_s.into());
        set(&o, "ttftS", s.ttft_s.into());
        set(&o, "tokens", js_sys::Uint32Array::from(&s.tokens[..]).into());
        if params.logprobs {
            set(&o, "logprobs", logprobs_array(tok, &s.logprobs).into());
        }
        set(&o, "prefillTokS", s.prefill_tok_s().into());
        set(&o, "decodeTokS", s.decode_tok_s().into());
        let finish = match s.finish {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ContextFull => "context_full",
            FinishReason::Cancelled => "cancelled",
        };
        set(&o, "finish", finish.into());
        let per = |total: f64| s.per_step(total);
        let gguf = session.model().gguf_weight_bytes.max(1) as f64;
        set(&o, "decodeSteps", (s.decode_steps as f64).into());
        set(&o, "dispatchesPerToken", per(s.decode_dispatches as f64).into());
        set(&o, "weightBytesPerToken", per(s.decode_weight_bytes as f64).into());
        set(&o, "weightReadRatio", (per(s.decode_weight_bytes as f64) / gguf).into());
        set(&o, "bindGroupsPerToken", per(s.decode_bind_groups as f64).into());
        set(&o, "buffersPerToken", per(s.decode_buffers_created as f64).into());
        set(&o, "hostMsPerToken", per(s.decode_host_s * 1e3).into());
        set(&o, "contextShifts", (s.context_shifts as f64).into());
        Ok(o)
    }
}

/// Perplexity of `text` the way llama.cpp's `llama-perplexity -c CTX_SIZE [--chunks MAX_CHUNKS]`
/// computes it: chunks of `ctx_size` tokens, at most `max_chunks` of them (all when omitted), with
/// a K/V cache of `kv_cache` (`"f16"`, the default, or `"f32"`).
/// Resolves to `{ppl, pplError, tokens, chunks, seconds}`.
#[wasm_bindgen]
pub async fn perplexity(
    engine: &Engine,
    model: &Model,
    text: String,
    ctx_size: u32,
    max_chunks: Option<u32>,
    kv_cache: Option<String>,
) -> Result<js_sys::Object, JsValue> {
    let kv_type = kv_cache.as_deref().map(KvType::parse).transpose().map_err(js_error)?.unwrap_or_default();
    let opts = PerplexityOptions { ctx_size, max_chunks: max_chunks.map(|n| n as usize), kv_type };
    let r = generate::perplexity(&engine.inner, &model.inner, &text, opts, &mut |_, _| {})
        .await
        .map_err(js_error)?;
    let o = js_sys::Object::new();
    set(&o, "ppl", r.ppl.into());
    set(&o, "pplError", r.ppl_error.into());
    set(&o, "tokens", (r.tokens as f64).into());
    set(&o, "chunks", (r.chunks as f64).into());
    set(&o, "seconds", r.seconds.into());
    Ok(o)
}

/// `[{token, text, logprob, top: [{token, text, logprob}]}]` for JS.
fn logprobs_array(
    tok: &crate::tokenizer::Tokenizer,
    lps: &[crate::generate::TokenLogprobs],
) -> js_sys::Array {
    let entry = |id: u32, logprob: f32| {
        let o = js_sys::Object::new();
        set(&o, "token", id.into());
        set(&o, "text", tok.decode(&[id], true).into());
        set(&o, "logprob", logprob.into());
        o
    };
    lps.iter()
        .map(|lp| {
            let o = entry(lp.token, lp.logprob);
            let top: js_sys::Array = lp.top.iter().map(|&(id, l)| JsValue::from(entry(id, l))).collect();
            set(&o, "top", top.into());
            JsValue::from(o)
        })
        .collect()
}

/// Reads `{maxTokens, temperature, topK, topP, minP, repetitionPenalty, frequencyPenalty,
/// presencePenalty, penaltyLastN, logitBias, seed, stop, ignoreEos}` from a JS object (`logitBias`:
/// `{tokenId: bias}` as OpenAI's); absent fields keep [`GenParams::default`]; wrong types are an
/// `invalid_argument` error. Ranges are checked by [`GenParams::validate`].
fn gen_params(v: &JsValue) -> Result<GenParams, JsValue> {
    let mut p = GenParams::default();
    if v.is_undefined() || v.is_null() {
        return Ok(p);
    }
    let bad = |what: &str| js_error(Error::InvalidArgument(format!("generate params: {what}")));
    let get = |key: &str| js_sys::Reflect::get(v, &key.into()).map_err(|_| bad("not an object"));
    let num = |key: &str| -> Result<Option<f64>, JsValue> {
        let x = get(key)?;
        if x.is_undefined() {
            return Ok(None);
        }
        x.as_f64().filter(|f| f.is_finite()).map(Some).ok_or_else(|| bad(&format!("{key} must be a number")))
    };
    let count = |key: &str| -> Result<Option<u32>, JsValue> {
        match num(key)? {
            Some(f) if f >= 0.0 && f.fract() == 0.0 && f <= u32::MAX as f64 => Ok(Some(f as u32)),
            Some(_) => Err(bad(&format!("{key} must be a non-negative integer"))),
            None => Ok(None),
        }
    };
    if let Some(n) = count("maxTokens")? {
        p.max_tokens = n;
    }
    if let Some(t) = num("temperature")? {
        p.temperature = t as f32;
    }
    if let Some(k) = count("topK")? {
        p.top_k = k;
    }
    for (key, field) in [
        ("topP", &mut p.top_p),
        ("minP", &mut p.min_p),
        ("repetitionPenalty", &mut p.repeat_penalty),
        ("frequencyPenalty", &mut p.frequency_penalty),
        ("presencePenalty", &mut p.presence_penalty),
    ] {
        if let Some(v) = num(key)? {
            *field = v as f32;
        }
    }
    if let Some(n) = count("penaltyLastN")? {
        p.penalty_last_n = n;
    }
    let bias = get("logitBias")?;
    if !bias.is_undefined() && !bias.is_null() {
        let obj: &js_sys::Object =
            bias.dyn_ref().ok_or_else(|| bad("logitBias must be an object {tokenId: bias}"))?;
        for entry in js_sys::Object::entries(obj).iter() {
            let pair: js_sys::Array = entry.into();
            let key = pair.get(0).as_string().unwrap_or_default();
            let id =
                key.parse::<u32>().map_err(|_| bad(&format!("logitBias key {key:?} is not a token id")))?;
            let b = pair.get(1).as_f64().ok_or_else(|| bad(&format!("logitBias[{key}] must be a number")))?;
            p.logit_bias.push((id, b as f32));
        }
    }
    if let Some(s) = count("seed")? {
        p.seed = u64::from(s);
    }
    let ignore_eos = get("ignoreEos")?;
    if !ignore_eos.is_undefined() {
        p.ignore_eos = ignore_eos.as_bool().ok_or_else(|| bad("ignoreEos must be a boolean"))?;
    }
    let logprobs = get("logprobs")?;
    if !logprobs.is_undefined() {
        p.logprobs = logprobs.as_bool().ok_or_else(|| bad("logprobs must be a boolean"))?;
    }
    if let Some(n) = count("topLogprobs")? {
        p.top_logprobs = n;
    }
    let stop = get("stop")?;
    if !stop.is_undefined() {
        let arr: &js_sys::Array = stop.dyn_ref().ok_or_else(|| bad("stop must be an array of strings"))?;
        p.stop = arr
            .iter()
            .map(|s| s.as_string().ok_or_else(|| bad("stop must be an array of strings")))
            .collect::<Result<_, _>>()?;
    }
    Ok(p)
}
