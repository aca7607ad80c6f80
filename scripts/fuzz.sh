#!/usr/bin/env bash
# Runs brasa's libFuzzer targets (crate/fuzz/, see SECURITY.md) for a given time each.
#
#   scripts/fuzz.sh TARGET SECONDS [LIBFUZZER_ARG...]
#   scripts/fuzz.sh all SECONDS                 every target in turn, SECONDS each
#
# Targets: gguf_reader quant_blocks tokenizer chat_template. One fuzz process at a time (no
# -jobs/-workers: the machine is shared). Needs cargo-fuzz (scripts/setup.sh --test installs it)
# and, for the tokenizer and chat_template targets' vocabularies and templates, llama.cpp's test
# data (scripts/fetch-llama-testdata.sh; without it the tokenizer target skips, saying so).
#
# The stable toolchain runs cargo-fuzz's nightly flags with RUSTC_BOOTSTRAP=1; the sanitizer is
# AddressSanitizer (FUZZ_SANITIZER=none for none: libFuzzer still catches panics, timeouts and
# memory limits). Seeds: crate/fuzz/corpus/TARGET/ (generated, never committed: made here by
# crate/fuzz/make_seeds.py from the generated test data in target/test-data/, itself made first if
# missing, see scripts/lib/test-data.sh) plus seeds made here from llama.cpp's test data; what the
# fuzzer finds goes to the ignored crate/fuzz/corpus-work/TARGET/, crashes to
# crate/fuzz/artifacts/TARGET/, the log with the final statistics to crate/fuzz/logs/TARGET.log.
# Exits non-zero on the first crash, timeout (20 s per input) or memory blow-up (4 GiB resident, or
# one allocation over 4 GiB).
# BRASA_FUZZ_TARGET_DIR: cargo's target folder for the fuzz build (default crate/fuzz/target); CI
# keeps it outside the clone so that a later run on the same machine rebuilds only brasa.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TARGETS=(gguf_reader quant_blocks tokenizer chat_template)

usage() { echo "usage: scripts/fuzz.sh {${TARGETS[*]// /|}|all} SECONDS [LIBFUZZER_ARG...]" >&2; exit 2; }
[[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage
which=$1 seconds=$2
shift 2
if [[ $which == all ]]; then
  for t in "${TARGETS[@]}"; do "$0" "$t" "$seconds" "$@"; done
  exit 0
fi
[[ " ${TARGETS[*]} " == *" $which "* ]] || usage
command -v cargo-fuzz >/dev/null || { echo "cargo-fuzz missing: cargo install cargo-fuzz (or scripts/setup.sh --test)" >&2; exit 1; }

FUZZ=crate/fuzz
WORK=$FUZZ/corpus-work/$which

# The seed corpus, from the generated test data (both made only when missing or stale).
source scripts/lib/test-data.sh
test_data_ensure
seeds=$FUZZ/corpus/.complete
if [[ ! -f $seeds || $FUZZ/make_seeds.py -nt $seeds || target/test-data/gguf/.complete -nt $seeds ||
      target/test-data/quant/.complete -nt $seeds ]]; then
  python3 "$FUZZ/make_seeds.py" >&2
fi
mkdir -p "$WORK" "$FUZZ/logs"

# Seeds from llama.cpp's test data, in each target's input format (see its fuzz_targets file).
TESTDATA=${BRASA_LLAMA_TESTDATA:-$ROOT/.cache/llama-testdata}
EXTRA=$FUZZ/corpus-work/$which-testdata
if [[ -d $TESTDATA && ! -d $EXTRA && $which =~ ^(chat_template|tokenizer)$ ]]; then
  mkdir -p "$EXTRA.tmp"
  i=0
  case $which in
    chat_template)
      # Flags 1 (generation prompt), the template, then a conversation.
      for f in "$TESTDATA"/templates/*.jinja; do
        { printf '\001'; cat "$f"; printf '\0system\0Be brief.\0user\0Hello!\0assistant\0Hi.\0user\0Bye'; } >"$EXTRA.tmp/$i"
        i=$((i + 1))
      done ;;
    tokenizer)
      # llama.cpp's tokenizer test texts, 2 KiB of each, for a vocabulary picked by position.
      for f in "$TESTDATA"/*.gguf.inp; do
        { printf "\\$(printf '%03o' $((i % 256)))\\000"; head -c 2048 "$f"; } >"$EXTRA.tmp/$i"
        i=$((i + 1))
      done ;;
  esac
  mv "$EXTRA.tmp" "$EXTRA"
fi
dirs=("$WORK" "$FUZZ/corpus/$which")
[[ -d $EXTRA ]] && dirs+=("$EXTRA")

sanitizer=${FUZZ_SANITIZER:-address}
target_dir=()
[[ -n ${BRASA_FUZZ_TARGET_DIR:-} ]] && target_dir=(--target-dir "$BRASA_FUZZ_TARGET_DIR")
echo "fuzz: $which for ${seconds}s (sanitizer $sanitizer)" >&2
cd crate
set +e
RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir fuzz -s "$sanitizer" "${target_dir[@]}" "$which" "${dirs[@]/#crate\//}" -- \
  -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 -malloc_limit_mb=4096 \
  -print_final_stats=1 "$@" 2>&1 | tee "fuzz/logs/$which.log" | grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE)'
status=${PIPESTATUS[0]}
[[ $status == 0 ]] || echo "fuzz: $which FAILED (exit $status): see crate/fuzz/logs/$which.log and crate/fuzz/artifacts/$which/" >&2
exit "$status"
