//! Chat-template rendering: random Jinja sources (mutated from real templates in the seed
//! corpus) with random messages, through `ChatTemplate` with its fuel budget and output cap.
//!
//! Input: byte 0 holds flags (bit 0 add_generation_prompt, bit 1 enable_thinking, bit 2 render
//! with a built-in template instead, picked by bits 3-4); the rest is split at NUL bytes into the
//! template source, then role and content of each message, in turn.
//!
//! Checks, besides "no panic, no hang, no unbounded allocation": building and rendering give a
//! prompt or a `chat_template` error, and no prompt is longer than the 16 MiB cap.
#![no_main]

use brasa::chat::{builtin, ChatTemplate, Date, Message};
use libfuzzer_sys::fuzz_target;

const MAX_OUTPUT_BYTES: usize = 16 << 20;

fuzz_target!(|data: &[u8]| {
    let [flags, rest @ ..] = data else { return };
    let mut parts = rest.split(|&b| b == 0).map(String::from_utf8_lossy);
    let source = parts.next().unwrap_or_default();
    let mut messages = Vec::new();
    while let (Some(role), Some(content)) = (parts.next(), parts.next()) {
        messages.push(Message::new(&role, &content));
    }
    let source = if flags & 4 != 0 {
        builtin::ALL[(flags >> 3) as usize % builtin::ALL.len()].source.into()
    } else {
        source
    };

    let template = match ChatTemplate::new(&source, "<s>", "</s>") {
        Ok(mut t) => {
            t.enable_thinking = flags & 2 != 0;
            t.date = Date::new(2025, 3, 14).ok();
            t
        }
        Err(e) => {
            assert_eq!(e.code(), "chat_template", "{e}");
            return;
        }
    };
    match template.render(&messages, flags & 1 != 0) {
        Ok(prompt) => assert!(prompt.len() <= MAX_OUTPUT_BYTES, "a prompt of {} bytes", prompt.len()),
        Err(e) => assert_eq!(e.code(), "chat_template", "{e}"),
    }
});
