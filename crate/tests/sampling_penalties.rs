//! Logit bias and repetition penalties in real generation (GPU sampling, pipelined decode, the
//! recent-token ring on the GPU) against the same rule applied on the host to teacher-forced
//! logits of the generated sequence.

mod common;

use brasa::generate::{GenParams, Session, SessionOptions};
use brasa::reference::kernels as reference;
use common::*;

#[test]
fn penalized_greedy_generation_matches_penalized_teacher_forcing() {
    let Some(path) = model_path() else { return };
    let (engine, model) = load_gpu(&path);
    let opts = SessionOptions { ctx_size: 96, max_batch: 64, ..Default::default() };
    let prompt = "List the numbers: one, two, one, two, one, two,";
    let prompt_ids = model.tokenizer.encode(prompt, true, false);
    let params = GenParams {
        max_tokens: 12,
        temperature: 0.0,
        top_k: 1,
        repeat_penalty: 1.5,
        frequency_penalty: 0.7,
        presence_penalty: 0.4,
        penalty_last_n: 16,
        logit_bias: vec![(1, -3.0), (236743, 1.5)],
        ..Default::default()
    };
    let mut session = Session::new(&engine, model.clone(), opts.clone()).unwrap();
    let stats = pollster::block_on(session.generate(prompt, &params, &mut |_| true)).unwrap();
    eprintln!("penalized: {:?}", stats.text);

    let mut seq = prompt_ids.clone();
    seq.extend(&stats.tokens);
    let mut fresh = Session::new(&engine, model.clone(), opts).unwrap();
    let logits = pollster::block_on(fresh.logits(&seq)).unwrap();
    let mut compared = 0;
    for (i, &tok) in stats.tokens.iter().enumerate() {
        let pos = prompt_ids.len() + i; // tokens before this one
        let mut row = logits[pos - 1].clone();
        let recent = &seq[pos.saturating_sub(16)..pos];
        reference::penalize(&mut row, &params.merged_logit_bias(), recent, 1.5, 0.7, 0.4);
        if margin(&row) > 0.05 {
            assert_eq!(tok as usize, argmax(&row), "token {i}");
            compared += 1;
        }
    }
    assert!(compared >= stats.tokens.len() / 2, "only {compared} tokens had a clear margin");

    // A bias of +100 makes one token win every step (penalties off), a ban of -inf removes the
    // unbiased greedy choice.
    let forced = GenParams {
        max_tokens: 4,
        temperature: 0.0,
        top_k: 1,
        logit_bias: vec![(1000, 100.0)],
        ..Default::default()
    };
    let mut s = Session::new(
        &engine,
        model.clone(),
        SessionOptions { ctx_size: 64, max_batch: 64, ..Default::default() },
    )
    .unwrap();
    let out = pollster::block_on(s.generate(prompt, &forced, &mut |_| true)).unwrap();
    assert_eq!(out.tokens, vec![1000; 4]);
    let plain = GenParams { max_tokens: 1, temperature: 0.0, top_k: 1, ..Default::default() };
    s.reset();
    let first = pollster::block_on(s.generate(prompt, &plain, &mut |_| true)).unwrap().tokens[0];
    let banned = GenParams { logit_bias: vec![(first, f32::NEG_INFINITY)], ..plain };
    s.reset();
    let other = pollster::block_on(s.generate(prompt, &banned, &mut |_| true)).unwrap().tokens[0];
    assert_ne!(other, first);

    // Bad values are typed errors.
    for bad in [
        GenParams { top_p: 0.0, ..Default::default() },
        GenParams { repeat_penalty: 0.0, ..Default::default() },
        GenParams { penalty_last_n: 5000, ..Default::default() },
        GenParams { logit_bias: vec![(u32::MAX, 1.0)], ..Default::default() },
    ] {
        s.reset();
        let e = pollster::block_on(s.generate(prompt, &bad, &mut |_| true)).unwrap_err();
        assert_eq!(e.code(), "invalid_argument", "{e}");
    }
}
