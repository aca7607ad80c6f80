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

/// The pre-tokenizer of one vocabulary.
#[derive(Debug, Clone)]
pub(crate) struct PreTokenizer {
    regexes: Vec<Regex>,
}

/// What a `tokenizer.ggml.pre` value selects: its expressions, and whether a whole piece that is
/// a vocabulary token is taken as is before merging (llama.cpp's `ignore_merges`).
fn expressions(pre: &str) -> Option<(Vec<&'static str>, bool)> {
    Some(match pre {
        "llama3" | "llama-v3" | "llama-bpe" | "falcon3" | "falcon-h1" | "pixtral" | "midm-2.0" | "lfm2"
        | "jina-v5-nano" => (vec![LLAMA3], true),
        "dbrx" | "smaug-bpe" | "chatglm-bpe" => (vec![LLAMA3], false),
        "qwen2" | "deepseek-r1-qwen" | "kormo" | "f2llmv2" | "stablelm2" | "hunyuan" | "solar-open" => {
            (vec![QWEN2], false)
        }
        "qwen35" => (vec![QWEN35], false),
        "gpt-2" | "phi-2" | "jina-es" | "jina-de" | "gigachat" | "jina-v2-es" | "jina-v2-de" | "a.x-4.0"
        | "mellum" | "modern-bert" | "mpt" | "olmo" | "jais" | "trillion" | "granite-docling" => {
            (vec![GPT2], false)
        }
        "starcoder" | "refact" | "command-r" | "smollm" | "codeshell" | "exaone" | "minerva-7b"
        | "mellum2" => (vec![r"\p{N}", GPT2], false),
        "falcon" => (vec![r"[\p{P}\$\+<=>\^~\|`]+", GPT2, "[0-9][0-9][0-9]"], false),
        "default" => (vec![r"[\p{P}\$\+<=>\^~\|]+", GPT2, r"\p{N}+", "[0-9][0-9][0-9]"], false),
        _ => return None,
    })
}

impl PreTokenizer {
    /// The pre-tokenizer llama.cpp uses for `pre` (`tokenizer.ggml.pre`; `None`: "default"),
    /// and its `ignore_merges` flag.
    pub(crate) fn for_name(pre: Option<&str>) -> Result<(Self, bool)> {
        let name = pre.unwrap_or("default");
        let (exprs, ignore_merges) = expressions(name).ok_or_else(|| {
            Error::Tokenizer(format!("unsupported pre-tokenizer {name:?} (tokenizer.ggml.pre)"))
        })?;
        let regexes = exprs
            .iter()
            .map(|e| Regex::new(e).map_err(|err| Error::Tokenizer(format!("pre-tokenizer {name:?}: {err}"))))
            .collect::<Result<_>>()?;
        Ok((PreTokenizer { regexes }, ignore_merges))
    }

    /// Splits `text` into pieces (byte ranges, in order, covering all of `text`).
    pub(crate) fn split(&self, text: &str) -> Vec<std::ops::Range<usize>> {
        let mut pieces = Vec::from([0..text.len()]);
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
        let (p, _) = PreTokenizer::for_name(Some(pre)).unwrap();
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
