//! Tokenizers built from GGUF metadata (`tokenizer.ggml.*`), and incremental detokenization.
