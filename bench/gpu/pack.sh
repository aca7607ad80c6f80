#!/usr/bin/env bash
# Prepares what the GPU machine needs for bench/gpu/run.sh, in one folder that travels with the
# device tool's `carry` (64 MiB at most per call). Run here, on the development machine:
#
#   bench/gpu/pack.sh [--model models/gemma-3-270m-q4_k_m.gguf] [--dest .gpu-carry]
#
# The folder (git-ignored) holds:
#   brasa                  the CLI, built here in release (the GPU machine has no Rust toolchain)
#   model.header           the model's GGUF header + its length (make_model.py rebuilds a model of
#                          the same shapes and block types there; the real file is too big to carry)
#   llama.cpp.tar.gz       llama.cpp sources from the llama-cpp-python sdist (docs/models/tests
#                          pruned), built there with CUDA and Vulkan; never committed
#   wheels/                the PyPI `gguf` package (numpy, pyyaml and tqdm are already there)
#   debs/                  the Vulkan loader (libvulkan1) and, for llama.cpp's Vulkan backend,
#                          glslc + libshaderc1 and newer Vulkan headers (Debian trixie's libvulkan-dev:
#                          bookworm's 1.3.239 headers are too old for that llama.cpp)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MODEL="$ROOT/models/gemma-3-270m-q4_k_m.gguf"
DEST="$ROOT/.gpu-carry"
while [[ $# -gt 0 ]]; do
    case "$1" in
        --model) MODEL="$2"; shift 2 ;;
        --dest) DEST="$2"; shift 2 ;;
        *) echo "pack.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[[ -f "$MODEL" ]] || { echo "pack.sh: no model at $MODEL (run scripts/setup.sh first)" >&2; exit 2; }

PY="$ROOT/.venv/bin/python"
mkdir -p "$DEST/wheels" "$DEST/debs"

echo "== brasa (release)"
cargo build --release --features cli --manifest-path "$ROOT/Cargo.toml" -p brasa --bin brasa
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
cp "$TARGET_DIR/release/brasa" "$DEST/brasa"
strip "$DEST/brasa" 2>/dev/null || true

echo "== model header"
"$PY" "$ROOT/bench/gpu/make_model.py" --like "$MODEL" --write-header "$DEST/model.header"

echo "== llama.cpp sources"
"$ROOT/scripts/fetch-llama-testdata.sh" >/dev/null # downloads the sdist into .cache when missing
SDIST="$ROOT/.cache/llama_cpp_python-0.3.36.tar.gz"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
tar xzf "$SDIST" -C "$TMP" --wildcards 'llama_cpp_python-*/vendor/llama.cpp/*' \
    --exclude='*/vendor/llama.cpp/models' --exclude='*/vendor/llama.cpp/docs' \
    --exclude='*/vendor/llama.cpp/tests' --exclude='*/vendor/llama.cpp/examples' \
    --exclude='*/vendor/llama.cpp/gguf-py' --exclude='*/vendor/llama.cpp/media' \
    --exclude='*/vendor/llama.cpp/tools/ui' --exclude='*/vendor/llama.cpp/benches'
tar czf "$DEST/llama.cpp.tar.gz" -C "$TMP"/llama_cpp_python-*/vendor llama.cpp

echo "== gguf wheel"
"$PY" -m pip download --quiet --no-deps --only-binary=:all: -d "$DEST/wheels" \
    "gguf==$("$PY" -c 'import importlib.metadata as m; print(m.version("gguf"))')"

echo "== Vulkan loader, glslc, headers"
(
    cd "$DEST/debs"
    apt-get download libvulkan1 glslc libshaderc1 2>/dev/null
    LISTS="$TMP/trixie-lists"
    mkdir -p "$LISTS/partial"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main" \
        >"$TMP/trixie.list"
    o=(-oDir::Etc::SourceList="$TMP/trixie.list" -oDir::Etc::SourceParts=/dev/null -oDir::State::Lists="$LISTS")
    apt-get "${o[@]}" update >/dev/null
    apt-get "${o[@]}" download libvulkan-dev 2>/dev/null
)
du -sh "$DEST"
SIZE=$(du -sm "$DEST" | cut -f1)
if ((SIZE > 60)); then
    echo "pack.sh: $DEST is ${SIZE} MiB; the device tool carries at most 64 MiB per call" >&2
    exit 1
fi
echo "packed into $DEST; on the GPU machine: bash bench/gpu/run.sh --carry ${DEST#"$ROOT"/} --out \$OUT"
