# The generated test data, never committed (source this from the repo root; needs bash):
#   target/test-data/gguf   GGUF fixtures + expectations  (scripts/make_gguf_fixtures.py)
#   target/test-data/quant  block-format cases + gguf-py's dequantization (scripts/gen_quant_testdata.py)
# Both scripts use the PyPI gguf package in .venv (scripts/setup.sh --test installs it) and read
# rows and the header of the default model. Each publishes its folder whole, with a `.complete`
# stamp (`model: NAME` or `model: none`). The Rust tests regenerate the same way when a folder is
# missing (crate/tests/fixtures/mod.rs).

TEST_DATA_MODEL=models/gemma-3-270m-q4_k_m.gguf

# test_data_fresh DIR SCRIPT: DIR is complete, made with the model, and newer than SCRIPT and the model.
test_data_fresh() {
  local stamp=$1/.complete
  [[ -f $stamp && $stamp -nt $2 && $stamp -nt $TEST_DATA_MODEL ]] && ! grep -qx 'model: none' "$stamp"
}

# test_data_ensure: (re)writes each folder that is not fresh; quiet when both are.
test_data_ensure() {
  local python=.venv/bin/python
  if ! test_data_fresh target/test-data/gguf scripts/make_gguf_fixtures.py; then
    [[ -x $python ]] || { echo "test data: $python missing (run scripts/setup.sh --test)" >&2; return 1; }
    echo "test data: writing target/test-data/gguf (scripts/make_gguf_fixtures.py)" >&2
    "$python" scripts/make_gguf_fixtures.py --out target/test-data/gguf "$TEST_DATA_MODEL" >&2
  fi
  if ! test_data_fresh target/test-data/quant scripts/gen_quant_testdata.py; then
    [[ -x $python ]] || { echo "test data: $python missing (run scripts/setup.sh --test)" >&2; return 1; }
    echo "test data: writing target/test-data/quant (scripts/gen_quant_testdata.py)" >&2
    "$python" scripts/gen_quant_testdata.py --out target/test-data/quant --model "$TEST_DATA_MODEL" >&2
  fi
}
