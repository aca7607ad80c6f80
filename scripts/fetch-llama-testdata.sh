#!/usr/bin/env bash
# Fetches llama.cpp's tokenizer test data (vocab-only GGUF files with their .inp/.out test cases)
# and its chat templates from the llama-cpp-python 0.3.36 sdist on PyPI (it vendors llama.cpp
# commit 0c1e570). The files are data, MIT-licensed; nothing is built.
#
#   scripts/fetch-llama-testdata.sh
#
# Result: .cache/llama-testdata/ggml-vocab-*.gguf{,.inp,.out} and .cache/llama-testdata/templates/.
# Idempotent: does nothing when the data is already there. Needs python3 and curl only.
# BRASA_CACHE_DIR overrides the cache folder (default: <repo>/.cache).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${BRASA_CACHE_DIR:-$ROOT/.cache}"
DEST="$CACHE/llama-testdata"
VERSION=0.3.36
SDIST="$CACHE/llama_cpp_python-$VERSION.tar.gz"
SHA256=832db0699007f1be95a7e41ef12e88926b02ba836461e36a36372db2760c1a2e

if [[ -f "$DEST/ggml-vocab-llama-spm.gguf.out" && -d "$DEST/templates" && -f "$DEST/.complete" ]]; then
    echo "llama.cpp test data already in $DEST"
    exit 0
fi

mkdir -p "$CACHE"

if [[ ! -f "$SDIST" ]]; then
    # The sdist's address comes from PyPI's simple index and the file is fetched as is: `pip download`
    # would run the package's build backend for metadata, which wants cmake.
    echo "downloading llama-cpp-python==$VERSION (sdist, ~77 MB)"
    URL="$(curl --fail --silent --show-error --retry 3 https://pypi.org/simple/llama-cpp-python/ \
        | grep -o "https://[^\"#]*/llama_cpp_python-$VERSION\.tar\.gz" | head -n 1)"
    [[ -n "$URL" ]] || { echo "error: llama-cpp-python $VERSION not on PyPI's index" >&2; exit 1; }
    curl --fail --location --silent --show-error --retry 3 -o "$SDIST.part" "$URL"
    mv "$SDIST.part" "$SDIST"
fi

echo "$SHA256  $SDIST" | sha256sum --check --quiet - || {
    echo "error: $SDIST does not have the expected sha256; delete it and retry" >&2
    exit 1
}

# Extract into a scratch folder first so an interrupted run never leaves a half-filled $DEST.
TMP="$(mktemp -d "$CACHE/llama-testdata.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
PREFIX="llama_cpp_python-$VERSION/vendor/llama.cpp/models"
tar -xzf "$SDIST" -C "$TMP" --strip-components=4 --wildcards \
    "$PREFIX/ggml-vocab-*.gguf*" "$PREFIX/templates/*"
touch "$TMP/.complete"
rm -rf "$DEST"
mv "$TMP" "$DEST"
trap - EXIT
echo "llama.cpp test data in $DEST ($(ls "$DEST"/ggml-vocab-*.gguf | wc -l) vocabularies, $(ls "$DEST/templates" | wc -l) templates)"
