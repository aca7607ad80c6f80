//! The GGUF push parser, fed as the model loader feeds it: chunks of random sizes, tensor data
//! handed on piece by piece to a streaming repacker; then what the loader does with a header on
//! the CPU (split keys, tokenizer, chat template, hyper-parameters; SentencePiece tokenizers only,
//! see `use_header`).
//!
//! Input: byte 0 seeds the chunk sizes; byte 1 says how long the stream claims to be (bits 6-7:
//! 0 its true length, 1 longer by the low 6 bits × 61 bytes — a stream that ends early, 2 shorter
//! — more bytes than announced); the rest is the file.
//!
//! Checks, besides "no panic, no hang, no unbounded allocation":
//! - the result (file or error) does not depend on the chunking: one push of everything gives the
//!   same as the chunked pushes;
//! - tensor pieces arrive in order, each inside its tensor, and a parsed file delivers every
//!   tensor whole;
//! - the repacker emits word-aligned pieces in order that add up to the GPU tensor's size.
#![no_main]

use brasa::chat::ChatTemplate;
use brasa::gguf::{GgufFile, GgufReader, TensorBytes, Value};
use brasa::model::hparams::HParams;
use brasa::model::split::SplitInfo;
use brasa::quant::{BlockRepacker, QuantType};
use brasa::tokenizer::Tokenizer;
use brasa_fuzz::Chunks;
use libfuzzer_sys::fuzz_target;

/// The loader's piece size is 1 MiB; a small one makes the repacker split its output often.
const MAX_PIECE: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let [seed, len_mode, file @ ..] = data else { return };
    let true_len = file.len() as u64;
    let (announced, comparable) = match len_mode >> 6 {
        0 => (true_len, true),
        1 => (true_len + u64::from(len_mode & 63) * 61, true),
        // Too many bytes: the chunked run may find a bad header before the excess, the single
        // push cannot (it is refused whole), so the two are not compared.
        _ => (true_len.saturating_sub(u64::from(len_mode & 63) + 1), false),
    };

    let chunked = read_chunked(file, announced, u64::from(*seed));
    if comparable {
        let mut whole = GgufReader::new(announced);
        let pushed = whole.push(file, &mut |_| Ok(()));
        let whole = pushed.and_then(|_| whole.finish());
        assert_eq!(summary(&chunked), summary(&whole), "the result depends on the chunk sizes");
    }
    if let Ok(file) = &chunked {
        use_header(file);
    }
});

/// Reads the stream in chunks, checking every tensor piece and repacking it.
fn read_chunked(file: &[u8], announced: u64, seed: u64) -> brasa::Result<GgufFile> {
    let mut reader = GgufReader::new(announced);
    let mut tensors: Vec<TensorStream> = Vec::new();
    let mut chunks = Chunks::new(seed);
    for chunk in chunks.split(file) {
        let header_before = reader.file().is_some();
        let mut early = Vec::new();
        let mut on_tensor = |piece: TensorBytes<'_>| {
            early.push((piece.tensor, piece.offset, piece.bytes.to_vec()));
            Ok(())
        };
        reader.push(chunk, &mut on_tensor)?;
        if let (false, Some(f)) = (header_before, reader.file()) {
            tensors = f.tensors.iter().map(TensorStream::new).collect();
        }
        for (t, offset, bytes) in early {
            tensors[t].receive(offset, &bytes);
        }
    }
    let parsed = reader.finish()?;
    for (t, stream) in parsed.tensors.iter().zip(tensors) {
        assert_eq!(stream.received, t.n_bytes, "tensor {:?} was not delivered whole", t.name);
        stream.finish();
    }
    Ok(parsed)
}

/// One tensor's data as it streams in, and its repacker when brasa supports the type.
struct TensorStream {
    n_bytes: u64,
    received: u64,
    repack: Option<(BlockRepacker, u64)>,
}

impl TensorStream {
    fn new(t: &brasa::gguf::TensorInfo) -> Self {
        let cols = t.dims[0];
        let rows = t.dims[1..].iter().product();
        let repack = QuantType::from_ggml(t.type_id)
            .and_then(|ty| BlockRepacker::new(ty, rows, cols, MAX_PIECE).ok())
            .map(|r| (r, 0));
        TensorStream { n_bytes: t.n_bytes, received: 0, repack }
    }

    fn receive(&mut self, offset: u64, bytes: &[u8]) {
        assert_eq!(offset, self.received, "tensor piece out of order");
        assert!(!bytes.is_empty() && offset + bytes.len() as u64 <= self.n_bytes, "piece outside its tensor");
        self.received += bytes.len() as u64;
        if let Some((repacker, emitted)) = &mut self.repack {
            repacker.push(bytes, &mut |at, out| check_gpu_piece(emitted, at, out)).expect("repack push");
        }
    }

    fn finish(self) {
        if let Some((repacker, mut emitted)) = self.repack {
            let gpu_len = repacker.gpu_len();
            repacker.finish(&mut |at, out| check_gpu_piece(&mut emitted, at, out)).expect("repack finish");
            assert_eq!(emitted, gpu_len, "the repacker's pieces do not add up to the GPU tensor");
        }
    }
}

fn check_gpu_piece(emitted: &mut u64, at: u64, out: &[u8]) -> brasa::Result<()> {
    assert_eq!(at, *emitted, "repacked piece out of order");
    assert!(at % 4 == 0 && out.len() % 4 == 0 && out.len() <= MAX_PIECE, "repacked piece misaligned");
    *emitted += out.len() as u64;
    Ok(())
}

/// What the loader reads from a parsed header before any tensor data (CPU side).
fn use_header(file: &GgufFile) {
    let md = &file.metadata;
    let _ = SplitInfo::of(file);
    // Byte-level BPE compiles its pre-tokenizer's Unicode regex (~75 ms under ASan): at that
    // speed this target would spend its time in regex_automata. The tokenizer target covers BPE
    // on real vocabularies; here only SentencePiece vocabularies are built from fuzzed metadata.
    let bpe = matches!(md.get("tokenizer.ggml.model"), Some(Value::String(m)) if m != "llama");
    let tok = if bpe { None } else { Tokenizer::from_gguf(md).ok() };
    let n_vocab = tok.as_ref().map_or(0, |t| t.vocab_size() as u32);
    let _ = HParams::from_metadata(md, n_vocab);
    if let Some(tok) = tok {
        for parse_special in [false, true] {
            let ids = tok.encode("Hello, world! <start_of_turn>user\n 123 ☃", true, parse_special);
            assert!(ids.iter().all(|&id| (id as usize) < tok.vocab_size()), "id out of the vocabulary");
            let _ = tok.decode(&ids, true);
        }
        if let Ok(template) = ChatTemplate::for_model(md, &tok) {
            let messages = [brasa::chat::Message::new("user", "Hi")];
            let _ = template.render(&messages, true);
        }
    }
}

/// A result in comparable form (a file's Debug text, or the error).
fn summary(r: &brasa::Result<GgufFile>) -> Result<String, brasa::Error> {
    r.as_ref().map(|f| format!("{f:?}")).map_err(Clone::clone)
}
