//! [`Session::chat`]: the reply to a conversation, rendered with the model's chat template; the
//! cache keeps what the new prompt shares with the last one, and with a sliding context the oldest
//! turns go first.

use web_time::Instant;

use super::{encode_prompt, ContextOverflow, OnPiece, Session};
use crate::error::{Error, Result};
use crate::generate::sampler::GenParams;
use crate::generate::stats::GenStats;

impl Session {
    /// Generates the assistant's reply to `messages` (the whole conversation), rendered with the
    /// model's chat template; generation stops at the template's end-of-turn token (the
    /// tokenizer's end-of-generation set holds them). The cache keeps the longest token prefix the
    /// new prompt shares with what it holds, so a follow-up turn evaluates only its new tokens
    /// (`GenStats::cached_tokens`).
    pub async fn chat(
        &mut self,
        messages: &[crate::chat::Message],
        params: &GenParams,
        on_text: &mut dyn FnMut(&str) -> bool,
    ) -> Result<GenStats> {
        self.chat_streamed(messages, params, &mut |text, _| on_text(text)).await
    }

    /// As [`Self::chat`], handing each piece its tokens' log-probabilities too ([`OnPiece`]).
    pub async fn chat_streamed(
        &mut self,
        messages: &[crate::chat::Message],
        params: &GenParams,
        on_piece: &mut OnPiece<'_>,
    ) -> Result<GenStats> {
        let model = self.model.clone();
        let template = model.chat_template.as_ref().ok_or_else(|| {
            Error::Template("this model's chat template could not be parsed (see the load warning)".into())
        })?;
        let t0 = Instant::now();
        let tok = &model.tokenizer;
        let n_system = messages.iter().take_while(|m| m.role == "system").count();
        // With a sliding context, the oldest turns after the system prompt go until the prompt
        // and a reply's first token fit.
        let slide = matches!(self.overflow, ContextOverflow::Slide { .. });
        let mut dropped = 0;
        let (prompt, prompt_ids, add_bos) = loop {
            let kept: Vec<_> =
                messages[..n_system].iter().chain(&messages[n_system + dropped..]).cloned().collect();
            let prompt = template.render(&kept, true)?;
            let (ids, add_bos) = encode_prompt(tok, &prompt, true);
            if !slide || ids.len() < self.bufs.ctx_size as usize || n_system + dropped + 1 >= messages.len() {
                break (prompt, ids, add_bos);
            }
            dropped += 1;
        };
        let kept: Vec<_> =
            messages[..n_system].iter().chain(&messages[n_system + dropped..]).cloned().collect();
        let keep = self.system_prompt_tokens(template, &kept, &prompt)?;
        let cached = self.reuse_prefix(&prompt_ids);
        self.auto_keep = keep + u32::from(add_bos);
        let mut stats = self.generate_from(&prompt_ids, cached, params, t0, on_piece).await?;
        stats.context_shifts += usize::from(dropped > 0);
        Ok(stats)
    }

    /// How many tokens at the start of `prompt` (the rendered `messages`) a context shift
    /// keeps: those of the leading system messages as the template renders them alone, or,
    /// for templates that fold the system prompt into the first user turn (Gemma), up to the
    /// end of that turn. 0 without a system message.
    fn system_prompt_tokens(
        &self,
        template: &crate::chat::ChatTemplate,
        messages: &[crate::chat::Message],
        prompt: &str,
    ) -> Result<u32> {
        let n_system = messages.iter().take_while(|m| m.role == "system").count();
        if n_system == 0 {
            return Ok(0);
        }
        let mut head = template.render(&messages[..n_system], false)?;
        let system_text = &messages[n_system - 1].content;
        if !head.contains(system_text.as_str()) && n_system < messages.len() {
            head = template.render(&messages[..=n_system], false)?;
        }
        // The shared text prefix, tokenized: the kept tokens are exactly the prompt's first ones.
        let shared = head.bytes().zip(prompt.bytes()).take_while(|(a, b)| a == b).count();
        let shared = prompt.floor_char_boundary(shared);
        let tok = &self.model.tokenizer;
        let full = tok.encode(prompt, false, true);
        let part = tok.encode(&prompt[..shared], false, true);
        let same = full.iter().zip(&part).take_while(|(a, b)| a == b).count();
        Ok(same as u32)
    }
}
