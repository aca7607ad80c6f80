//! A full context: by default generation finishes with `context_full` (and a prompt that does
//! not fit is a `context_full` error); with `ContextOverflow::Slide` the session drops the oldest
//! half after the kept prefix, evaluates the rest again and goes on. The reference for the state
//! after a shift is a fresh session fed the same tokens: its logits must match. Chat drops the
//! oldest turns and keeps the system prompt. Runs on the tiny llama model (llama.cpp's
//! SentencePiece vocabulary, scripts/make_tiny_models.py).

mod common;

use std::sync::Arc;

use brasa::chat::Message;
use brasa::generate::{ContextOverflow, Engine, FinishReason, GenParams, Session, SessionOptions};
use brasa::gpu::GpuOptions;
use common::*;

fn setup() -> Option<(Engine, Arc<brasa::model::Model>)> {
    let dir = tiny_models_dir()?;
    let engine = pollster::block_on(Engine::new(GpuOptions::default())).unwrap();
    let model = engine.load_file(&dir.join("tiny-llama.gguf")).unwrap();
    Some((engine, Arc::new(model)))
}

fn greedy(max_tokens: u32) -> GenParams {
    GenParams { max_tokens, temperature: 0.0, top_k: 1, ignore_eos: true, ..Default::default() }
}

fn prompt(n: u32) -> Vec<u32> {
    std::iter::once(1).chain((1..n).map(|i| 300 + 41 * i)).collect()
}

#[test]
fn a_full_context_stops_by_default() {
    let Some((engine, model)) = setup() else { return };
    let opts = SessionOptions { ctx_size: 16, max_batch: 8, ..Default::default() };
    let mut s = Session::new(&engine, model.clone(), opts).unwrap();
    let stats = pollster::block_on(s.generate_ids(&prompt(10), &greedy(20), &mut |_| true)).unwrap();
    assert_eq!(stats.finish, FinishReason::ContextFull);
    // 10 prompt tokens fill positions 0..10; tokens fed at 10..16 plus the last sampled one.
    assert_eq!(stats.generated_tokens, 7);
    assert_eq!(stats.context_shifts, 0);
    s.reset();
    let err = pollster::block_on(s.generate_ids(&prompt(17), &greedy(2), &mut |_| true)).unwrap_err();
    assert_eq!(err.code(), "context_full", "{err}");
}

#[test]
fn sliding_keeps_the_prefix_and_matches_a_fresh_evaluation() {
    let Some((engine, model)) = setup() else { return };
    let ctx_size = 24;
    let overflow = ContextOverflow::Slide { keep: Some(4) };
    let mut s = Session::new(
        &engine,
        model.clone(),
        SessionOptions { ctx_size, max_batch: 8, overflow, ..Default::default() },
    )
    .unwrap();
    let p = prompt(12);
    let stats = pollster::block_on(s.generate_ids(&p, &greedy(40), &mut |_| true)).unwrap();
    assert_eq!(stats.finish, FinishReason::Length);
    assert_eq!(stats.generated_tokens, 40);
    assert!(stats.context_shifts >= 2, "{} shifts", stats.context_shifts);
    let history = s.history().to_vec();
    assert!(history.len() <= ctx_size as usize);
    assert_eq!(&history[..4], &p[..4], "the kept prefix");
    // The generated tokens are the history's tail (the last one is sampled, not fed yet).
    let tail = &stats.tokens[stats.tokens.len() - 9..stats.tokens.len() - 1];
    assert_eq!(&history[history.len() - 8..], tail);

    // The shifted cache against a fresh session fed the same tokens: logits of one more token.
    let next = 777;
    let shifted = pollster::block_on(s.logits(&[next])).unwrap().pop().unwrap();
    let opts = SessionOptions { ctx_size, max_batch: 8, ..Default::default() };
    let mut fresh = Session::new(&engine, model.clone(), opts).unwrap();
    let mut tokens = history.clone();
    tokens.push(next);
    let want = pollster::block_on(fresh.logits(&tokens)).unwrap().pop().unwrap();
    let err = normalized_error(&shifted, &want);
    // Decode (mat-vec) and prefill (tiled matmul) paths sum in different orders: ≤ 1e-5 seen.
    assert!(err <= 1e-4, "shifted vs fresh logits: {err:.2e}");
    eprintln!("{} shifts; shifted vs fresh logits {err:.1e}", stats.context_shifts);
}

#[test]
fn chat_drops_the_oldest_turns_and_keeps_the_system_prompt() {
    let Some((engine, model)) = setup() else { return };
    let tok = &model.tokenizer;
    let mut messages = vec![Message::new("system", "You answer in rhymes about the sea.")];
    for i in 0..8 {
        messages.push(Message::new("user", &format!("Question number {i}: what is the tide doing today?")));
        messages.push(Message::new("assistant", &format!("Answer number {i}: the tide is rolling in.")));
    }
    messages.push(Message::new("user", "And tomorrow?"));
    let ctx_size = 96;
    let mut stopping = Session::new(
        &engine,
        model.clone(),
        SessionOptions { ctx_size, max_batch: 32, ..Default::default() },
    )
    .unwrap();
    let err = pollster::block_on(stopping.chat(&messages, &greedy(4), &mut |_| true)).unwrap_err();
    assert_eq!(err.code(), "context_full", "{err}");

    let overflow = ContextOverflow::Slide { keep: None };
    let mut s = Session::new(
        &engine,
        model.clone(),
        SessionOptions { ctx_size, max_batch: 32, overflow, ..Default::default() },
    )
    .unwrap();
    let stats = pollster::block_on(s.chat(&messages, &greedy(40), &mut |_| true)).unwrap();
    assert_eq!(stats.finish, FinishReason::Length);
    assert!(stats.context_shifts >= 2, "{} shifts", stats.context_shifts);
    let text = tok.decode(s.history(), true);
    assert!(text.contains("You answer in rhymes about the sea."), "system prompt lost: {text:?}");
    assert!(!text.contains("Question number 0"), "oldest turn kept: {text:?}");
}

#[test]
fn a_follow_up_turn_evaluates_only_its_new_tokens() {
    let Some((engine, model)) = setup() else { return };
    let opts = || SessionOptions { ctx_size: 256, max_batch: 32, ..Default::default() };
    let mut s = Session::new(&engine, model.clone(), opts()).unwrap();
    let mut messages =
        vec![Message::new("system", "You are terse."), Message::new("user", "What is the tide doing today?")];
    let first = pollster::block_on(s.chat(&messages, &greedy(6), &mut |_| true)).unwrap();
    assert_eq!(first.cached_tokens, 0);
    messages.push(Message::new("assistant", &first.text));
    messages.push(Message::new("user", "And tomorrow?"));
    let second = pollster::block_on(s.chat(&messages, &greedy(6), &mut |_| true)).unwrap();
    // The whole first prompt is reused (the reply's tokens may re-tokenize differently).
    assert!(
        second.cached_tokens >= first.prompt_tokens,
        "{} < {}",
        second.cached_tokens,
        first.prompt_tokens
    );
    assert!(second.cached_tokens < second.prompt_tokens);

    // The same conversation in a fresh session: the same greedy reply and the same cache state.
    let mut fresh = Session::new(&engine, model.clone(), opts()).unwrap();
    let alone = pollster::block_on(fresh.chat(&messages, &greedy(6), &mut |_| true)).unwrap();
    assert_eq!(alone.cached_tokens, 0);
    assert_eq!(second.tokens, alone.tokens, "reply after reuse differs from a fresh evaluation");
    let (a, b) =
        (pollster::block_on(s.logits(&[777])).unwrap(), pollster::block_on(fresh.logits(&[777])).unwrap());
    let err = normalized_error(&a[0], &b[0]);
    assert!(err <= 1e-4, "reused vs fresh logits {err:.2e}");
}
