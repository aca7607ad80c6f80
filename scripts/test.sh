#!/usr/bin/env bash
# Sets up what is missing and runs every test: native cargo tests (GPU ones on lavapipe), the wasm
# build, and the browser tests in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test

# lavapipe wants a private runtime dir; without one it prints warnings on every device.
if [[ -z "${XDG_RUNTIME_DIR:-}" || ! -d "${XDG_RUNTIME_DIR}" ]]; then
  XDG_RUNTIME_DIR=$(mktemp -d)
  export XDG_RUNTIME_DIR
fi
chmod 0700 "$XDG_RUNTIME_DIR"

step() { echo "=== $* ===" >&2; }

# The model was just fetched: a missing model is a failure here, not a skip.
export BRASA_REQUIRE_MODEL=1

step "cargo test (native)"
# One test binary at a time runs its tests on both cores; the GPU ones share the emulated GPU.
cargo test --workspace -- --test-threads=1

# --- fuzz (brief): each libFuzzer target for 20 s on its seeds (scripts/fuzz.sh, SECURITY.md) ---
step "fuzz (brief)"
# Without AddressSanitizer here: the fuzzed modules have no `unsafe`, so libFuzzer alone still
# catches every panic, hang and memory blow-up, and the build (brasa and its parsers'
# dependencies, instrumented for coverage) takes minutes less from cold. The long runs of
# SECURITY.md use ASan. The build is kept outside the clone, so a later CI run on the same
# machine rebuilds only brasa.
FUZZ_SANITIZER=none BRASA_FUZZ_TARGET_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/brasa/fuzz-target" \
  scripts/fuzz.sh all 20
# --------------------------------------------------------------------------------------------------

step "wasm build"
scripts/build-wasm.sh
# The same with the kernel self-test, for tests/kernels.test.mjs (not shipped: it adds 8–9%).
scripts/build-wasm.sh --selftest

step "browser tests"
# One file at a time: each drives a software GPU that wants both cores.
node --test --test-concurrency=1 tests/
