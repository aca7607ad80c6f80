//! GPU sampling, NLL and penalties against the CPU reference of the same rule
//! (brasa::reference::kernels::sample / nll / penalize): the suites of brasa::selftest
//! (crate/src/selftest/sample.rs holds the cases and budgets; the browser runs the same ones,
//! tests/kernels.test.mjs), on every kernel variant the adapter offers.
#![cfg(feature = "gpu")]

mod kernels_util;

use brasa::selftest::Suite;
use kernels_util::check_suite;

#[test]
fn greedy_ties_pick_lowest_id() {
    check_suite(Suite::SampleGreedy);
}

#[test]
fn top_k_matches_reference_rule() {
    check_suite(Suite::SampleTopK);
}

#[test]
fn whole_vocab_matches_reference_rule() {
    check_suite(Suite::SampleWholeVocab);
}

/// Over evenly spaced u, the picks follow the softmax of the top-k logits.
#[test]
fn top_k_distribution() {
    check_suite(Suite::SampleDistribution);
}

#[test]
fn nll_matches_reference() {
    check_suite(Suite::Nll);
}

/// Logit bias and repetition penalties on a row of logits against the CPU rule
/// (reference::kernels::penalize).
#[test]
fn penalties_and_logit_bias_match_the_reference() {
    check_suite(Suite::Penalties);
}
