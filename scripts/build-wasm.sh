#!/usr/bin/env bash
# Builds the brasa crate for the browser: wasm32-unknown-unknown, release, features `gpu` only
# (the `cli` feature is native-only), then wasm-bindgen --target web into pkg/wasm/.
# With --selftest: the same with the `selftest` feature (the kernel self-test, `Engine.selfTest`)
# into target/wasm-selftest/, for the browser kernel tests (tests/kernels.test.mjs); the shipped
# package leaves it out (it adds 8–9% to the wasm).
# Runs wasm-opt -O when it is installed (optional; it is not required).
# Env: CARGO_TARGET_DIR (default ./target), BRASA_WASM_PROFILE (default release).
set -euo pipefail
cd "$(dirname "$0")/.."

profile="${BRASA_WASM_PROFILE:-wasm-release}"
target_dir="${CARGO_TARGET_DIR:-$PWD/target}"
features=gpu
out=pkg/wasm
case "${1:-}" in
  "") ;;
  --selftest) features=gpu,selftest; out=target/wasm-selftest ;;
  *) echo "usage: $0 [--selftest]" >&2; exit 2 ;;
esac

# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly.
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [[ "$have" != "$want" ]]; then
  echo "build-wasm: wasm-bindgen-cli $want is needed (found '${have:-none}'); run scripts/setup.sh" >&2
  exit 1
fi

cargo build -p brasa --lib --target wasm32-unknown-unknown --no-default-features --features "$features" \
  --profile "$profile"

wasm="$target_dir/wasm32-unknown-unknown/$profile/brasa.wasm"
rm -rf "$out"
wasm-bindgen --target web --out-dir "$out" --out-name brasa "$wasm"

if command -v wasm-opt >/dev/null 2>&1; then
  wasm-opt -O --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types \
    "$out/brasa_bg.wasm" -o "$out/brasa_bg.wasm"
fi

size=$(stat -c %s "$out/brasa_bg.wasm")
echo "build-wasm: $out/brasa_bg.wasm $((size / 1024)) KiB" >&2
