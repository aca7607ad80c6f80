//! Byte-level BPE pre-tokenization: the regular expressions llama.cpp applies before BPE, chosen
//! by `tokenizer.ggml.pre`. Each expression in turn splits every piece the previous ones left:
//! its matches become pieces, and so does the text between matches (llama.cpp's
//! `unicode_regex_split`). The expressions are llama.cpp's (themselves Hugging Face's
//! `tokenizer.json` patterns with `(?i:…)` spelled out), run with `fancy-regex`, which has the
//! lookahead `\s+(?!\S)` they rely on.

use fancy_regex::Regex;

use crate::error::{Error, Result};

/// Contractions, letters, digits in threes, punctuation runs, newlines and spaces (Llama 3).
const LLAMA3: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// As Llama 3 but single digits (Qwen 2).
const QWEN2: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// As Qwen 2 with combining marks joining letters (Qwen 3.5).
const QWEN35: &str = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// GPT-2's pattern.
const GPT2: &str = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)";

/// DeepSeek LLM's expressions, applied in turn: each newline alone; an optional space and a run
/// of cased letters (Latin, Greek, Cyrillic, Armenian, Georgian, Cherokee, Glagolitic, Coptic,
/// Deseret … as the list below, llama.cpp's, spells them); an optional space and a run of ASCII,
/// full-width and CJK punctuation; trailing whitespace; a run of CJK ideographs, the Unicode
/// blocks from U+0800 up to them, and Hangul; a run of digits. Everything between matches stays
/// a piece of its own.
///
/// llama.cpp runs expressions without `\p{…}` classes through `std::wregex` on the text with
/// every non-ASCII whitespace character replaced by U+000B, so its explicit ranges never match
/// whitespace (U+3000 is in the punctuation range, U+1680, U+2000–U+200A … in U+0800–U+4E00):
/// hence `&&\S` on those ranges here.
const DEEPSEEK_LLM: [&str; 6] = [
    r"[\r\n]",
    concat!(
        r"\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293}",
        r"\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A}\x{38C}",
        r"\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556}\x{10A0}-\x{10C5}",
        r"\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B}",
        r"\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D}\x{1F20}-\x{1F45}",
        r"\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D}\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}",
        r"\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}",
        r"\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}",
        r"\x{2119}-\x{211D}\x{2124}\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}",
        r"\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4}",
        r"\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F}",
        r"\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17}",
        r"\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB}",
        r"\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+",
    ),
    r"\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}&&\S]+",
    r"\s+$",
    CJK_RUNS,
    r"\p{N}+",
];
/// DeepSeek Coder's: newlines alone, an optional space and letters, an optional space and
/// punctuation, the CJK runs of DeepSeek LLM, and single digits.
const DEEPSEEK_CODER: [&str; 5] = [r"[\r\n]", r"\s?\p{L}+", r"\s?\p{P}+", CJK_RUNS, r"\p{N}"];
/// CJK ideographs U+4E00–U+9FA5, everything from U+0800 up to them, and Hangul syllables and
/// Jamo extensions (U+AC00–U+D7FF).
const CJK_RUNS: &str = r"[\x{4E00}-\x{9FA5}\x{800}-\x{4E00}\x{AC00}-\x{D7FF}&&\S]+";

/// How a BPE vocabulary spells text in its tokens (llama.cpp's `byte_encode` and
/// `escape_whitespaces`, set by the pre-tokenizer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TextForm {
    /// GPT-2's byte-to-character map: every byte a printable character (byte-level BPE).
    Bytes,
    /// SentencePiece's: raw UTF-8 with each space written U+2581, and bytes no token covers as
    /// `<0xXX>` tokens (Gemma 4's BPE).
    SpaceMarked,
}

/// The pre-tokenizer of one vocabulary.
#[derive(Debug, Clone)]
pub(crate) struct PreTokenizer {
    regexes: Vec<Regex>,
    /// A whole piece that is a vocabulary token is taken as is before merging (llama.cpp's
    /// `ignore_merges`).
    pub(crate) ignore_merges: bool,
    pub(crate) form: TextForm,
}

/// What a `tokenizer.ggml.pre` value selects: its expressions, `ignore_merges`, and the text form.
fn expressions(pre: &str) -> Option<(Vec<&'static str>, bool, TextForm)> {
    use TextForm::Bytes;
    Some(match pre {
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral" | "midm-2.0" | "lfm2"
        | "jina-v5-nano" => (vec![LLAMA3], true, Bytes),
        "dbrx" | "smaug-bpe" | "chatglm-bpe" => (vec![LLAMA3], false, Bytes),
        "qwen2" | "deepseek-r1-qwen" | "kormo" | "f2llmv2" | "stablelm2" | "hunyuan" | "solar-open" => {
            (vec![QWEN2], false, Bytes)
        }
        "qwen35" => (vec![QWEN35], false, Bytes),
        "deepseek-llm" => (DEEPSEEK_LLM.to_vec(), false, Bytes),
        "deepseek-coder" => (DEEPSEEK_CODER.to_vec(), false, Bytes),
        "gpt-2" | "phi-2" | "jina-es" | "jina-de" | "gigachat" | "jina-v2-es" | "jina-v2-de" | "a.x-4.0"
        | "mellum" | "modern-bert" | "mpt" | "olmo" | "jais" | "trillion" | "granite-docling" => {
            (vec![GPT2], false, Bytes)
        }
        "starcoder" | "refact" | "command-r" | "smollm" | "codeshell" | "exaone" | "minerva-7b"
        | "mellum2" => (vec![r"\p{N}", GPT2], false, Bytes),
        "falcon" => (vec![r"[\p{P}\$\+<=>\^~\|`]+", GPT2, "[0-9][0-9][0-9]"], false, Bytes),
        "default" => (vec![r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", "[0-9][0-9][0-9]"], false, Bytes),
        // Gemma 4: no word splitting, only newline runs apart from the rest (merges run over
        // whole lines, spaces included as U+2581).
        "gemma4" | "granite-embed-multi-311m" => (vec![r"[^\n]+|[\n]+"], false, TextForm::SpaceMarked),
        _ => return None,
    })
}

impl PreTokenizer {
    /// The pre-tokenizer llama.cpp uses for `pre` (`tokenizer.ggml.pre`; `None`: "default").
    pub(crate) fn for_name(pre: Option<&str>) -> Result<Self> {
        let name = pre.unwrap_or("default");
        let (exprs, ignore_merges, form) = expressions(name).ok_or_else(|| {
            Error::Tokenizer(format!("unsupported pre-tokenizer {name:?} (tokenizer.ggml.pre)"))
        })?;
        let regexes = exprs
            .iter()
            .map(|e| Regex::new(e).map_err(|err| Error::Tokenizer(format!("pre-tokenizer {name:?}: {err}"))))
            .collect::<Result<_>>()?;
        Ok(PreTokenizer { regexes, ignore_merges, form })
    }

    /// Splits `text` into pieces (byte ranges, in order, covering all of `text`).
    pub(crate) fn split(&self, text: &str) -> Vec<std::ops::Range<usize>> {
        // One piece to start with: the whole text (a Vec of ranges, not the range's elements).
        #[allow(clippy::single_range_in_vec_init)]
        let mut pieces = vec![0..text.len()];
        for re in &self.regexes {
            let mut next = Vec::with_capacity(pieces.len());
            for p in pieces {
                let s = &text[p.clone()];
                let mut at = 0;
                for m in re.find_iter(s) {
                    // A backtracking limit is the only error; keep the rest as one piece.
                    let Ok(m) = m else { break };
                    if m.start() > at {
                        next.push(p.start + at..p.start + m.start());
                    }
                    if m.end() > m.start() {
                        next.push(p.start + m.start()..p.start + m.end());
                    }
                    at = m.end();
                }
                if at < s.len() {
                    next.push(p.start + at..p.end);
                }
            }
            pieces = next;
        }
        pieces
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split<'a>(pre: &str, s: &'a str) -> Vec<&'a str> {
        let p = PreTokenizer::for_name(Some(pre)).unwrap();
        p.split(s).into_iter().map(|r| &s[r]).collect()
    }

    #[test]
    fn splits_like_the_patterns_say() {
        assert_eq!(
            split("llama3", "Hello world  12345 it's"),
            ["Hello", " world", " ", " ", "123", "45", " it", "'s"]
        );
        assert_eq!(split("gpt-2", "Hello  world"), ["Hello", " ", " world"]);
        assert_eq!(split("qwen2", "ab 12"), ["ab", " ", "1", "2"]);
        assert!(PreTokenizer::for_name(Some("no-such-pre")).unwrap_err().to_string().contains("no-such-pre"));
    }
}
