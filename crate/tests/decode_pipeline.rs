//! Pipelined decode (step t + 1 submitted before token t is read back) against teacher-forced
//! logits of the same sequence, over two turns of one session; and a steady decode creating no
//! bind groups or buffers.

mod common;

use brasa::generate::{FinishReason, GenParams, Session, SessionOptions};
use common::*;

/// Decode (mat-vec kernels) and the teacher-forced pass (tiled matmul kernels) sum in different
/// orders; a token is only compared where the reference's top-2 margin exceeds this.
const MIN_MARGIN: f32 = 0.05;

#[test]
fn pipelined_decode_matches_teacher_forcing_across_turns() {
    let Some(path) = model_path() else { return };
    let (engine, model) = load_gpu(&path);
    let tok = &model.tokenizer;
    let opts = SessionOptions { ctx_size: 96, max_batch: 32, ..Default::default() };
    let params = GenParams { max_tokens: 7, temperature: 0.0, top_k: 1, ..Default::default() };

    let mut session = Session::new(&engine, model.clone(), opts.clone()).unwrap();
    let turn1 =
        pollster::block_on(session.generate("The capital of France is", &params, &mut |_| true)).unwrap();
    let p1 = tok.encode("The capital of France is", true, false);
    assert_eq!(turn1.prompt_tokens, p1.len());
    assert_eq!(turn1.generated_tokens, turn1.tokens.len());
    // Every generated token but the last was fed back; the step in flight for the last one is
    // not part of the context.
    assert_eq!(session.n_past() as usize, p1.len() + turn1.tokens.len() - 1);

    let second = " Tell me more about its museums.";
    let turn2 = pollster::block_on(session.generate(second, &params, &mut |_| true)).unwrap();
    let p2 = tok.encode(second, false, false);
    assert_eq!(turn2.prompt_tokens, p2.len());
    assert_eq!(
        session.n_past() as usize,
        p1.len() + turn1.tokens.len() - 1 + p2.len() + turn2.tokens.len() - 1
    );

    // Turn 2 decodes the same ops on the same buffers as turn 1: nothing is created.
    eprintln!("turn 2: {:?}, {} decode steps, {:?}", turn2.finish, turn2.decode_steps, turn2.text);
    assert!(turn2.decode_steps >= 2, "the test needs a few decode steps");
    {
        assert_eq!(turn2.decode_bind_groups, 0, "bind groups created by a steady decode");
        assert_eq!(turn2.decode_buffers_created, 0, "buffers created by a steady decode");
    }
    assert!(session.bind_groups_reused() > 0);

    // The same sequence teacher-forced through a fresh session: each generated token must be
    // the argmax of the logits at the position before it.
    let mut seq = p1.clone();
    seq.extend(&turn1.tokens[..turn1.tokens.len() - 1]);
    let turn2_start = seq.len() + p2.len();
    seq.extend(&p2);
    seq.extend(&turn2.tokens);
    let mut fresh = Session::new(&engine, model.clone(), opts).unwrap();
    let logits = pollster::block_on(fresh.logits(&seq)).unwrap();
    let check = |generated: &[u32], first_pos: usize, turn: &str| {
        for (i, &t) in generated.iter().enumerate() {
            let row = &logits[first_pos - 1 + i];
            if margin(row) > MIN_MARGIN {
                assert_eq!(t as usize, argmax(row), "{turn}, token {i}");
            }
        }
    };
    check(&turn1.tokens, p1.len(), "turn 1");
    check(&turn2.tokens, turn2_start, "turn 2");
}

#[test]
fn cancelled_and_length_limited_generations_leave_a_consistent_context() {
    let Some(path) = model_path() else { return };
    let (engine, model) = load_gpu(&path);
    let opts = SessionOptions { ctx_size: 64, max_batch: 16, ..Default::default() };
    let mut session = Session::new(&engine, model.clone(), opts).unwrap();
    let prompt = model.tokenizer.encode("Once upon a time", true, false);

    // Stop after the first piece of text: one token generated, none fed back.
    let params = GenParams { max_tokens: 20, temperature: 0.0, top_k: 1, ..Default::default() };
    let stats = pollster::block_on(session.generate("Once upon a time", &params, &mut |_| false)).unwrap();
    assert_eq!(stats.finish, FinishReason::Cancelled);
    assert_eq!(session.n_past() as usize, prompt.len() + stats.tokens.len() - 1);

    // max_tokens 1: the only token comes out of prefill; no decode step runs.
    session.reset();
    let one = GenParams { max_tokens: 1, ..params.clone() };
    let stats = pollster::block_on(session.generate("Once upon a time", &one, &mut |_| true)).unwrap();
    assert_eq!((stats.generated_tokens, stats.finish, stats.decode_steps), (1, FinishReason::Length, 0));
    assert_eq!(session.n_past() as usize, prompt.len());
}
