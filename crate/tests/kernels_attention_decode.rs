//! The decode attention kernel (a decoded token's q/k norms, RoPE, cache writes and attention in
//! one dispatch, its keys optionally split over several workgroups) and the f16 K/V cache: the
//! self-test suites `attention_decode` and `attention_f16` (brasa::selftest::attention_decode)
//! on each kernel variant, and the split rule.
#![cfg(feature = "gpu")]

mod kernels_util;

use brasa::kernels::{decode_splits, MAX_DECODE_SPLITS};
use brasa::selftest::Suite;
use kernels_util::check_suite;

#[test]
fn decode_attention_matches_reference_and_batch_path() {
    check_suite(Suite::AttentionDecode);
}

#[test]
fn prefill_over_an_f16_cache() {
    check_suite(Suite::AttentionF16);
}

#[test]
fn splits_cover_the_keys_in_nonempty_ranges() {
    for n_head in [1u32, 4, 8, 32, 64] {
        for n_keys in [1u32, 2, 255, 256, 511, 512, 513, 1000, 4096, 32768, 131072] {
            let (s, len) = decode_splits(n_head, n_keys);
            assert!((1..=MAX_DECODE_SPLITS).contains(&s), "{n_head} heads, {n_keys} keys: {s} splits");
            assert!(s * len >= n_keys && (s - 1) * len < n_keys, "{n_head}/{n_keys}: {s} × {len}");
            if n_keys < 512 {
                assert_eq!(s, 1, "short contexts are not split");
            }
        }
    }
}
