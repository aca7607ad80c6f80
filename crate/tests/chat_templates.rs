//! Chat templates against llama.cpp's rendering of the same templates and conversations
//! (tests/reference/chat-templates.json; the templates are llama.cpp's test files, fetched by
//! scripts/fetch-llama-testdata.sh), and the built-in templates against llama.cpp's built-ins.

use brasa::chat::{builtin, ChatTemplate, Date, Message};
use serde_json::Value;

fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn reference() -> Value {
    let p = repo_root().join("tests/reference/chat-templates.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn messages(case: &Value) -> Vec<Message> {
    case["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| Message::new(m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
        .collect()
}

/// Templates brasa must render exactly as llama.cpp does, for every conversation. The others
/// in the reference file are reported (`cargo test -- --nocapture`) but not required: their
/// differences are listed in tests/reference/README.md.
const MUST_MATCH: &[&str] = &[
    "Apertus-8B-Instruct.jinja",
    "Apriel-1.6-15b-Thinker-fixed.jinja",
    "Bielik-11B-v3.0-Instruct.jinja",
    "ByteDance-Seed-OSS.jinja",
    "Cohere2MoE.jinja",
    "CohereForAI-c4ai-command-r-plus-tool_use.jinja",
    "CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja",
    "GLM-4.6.jinja",
    "GLM-4.7-Flash.jinja",
    "GigaChat3-10B-A1.8B.jinja",
    "GigaChat3.1-10B-A1.8B.jinja",
    "HuggingFaceTB-SmolLM3-3B.jinja",
    "Kimi-K2-Instruct.jinja",
    "Kimi-K2-Thinking.jinja",
    "Kimi-K3.jinja",
    "LFM2-8B-A1B.jinja",
    "LFM2.5-8B-A1B.jinja",
    "LFM2.5-Instruct.jinja",
    "MiMo-VL.jinja",
    "MiniMax-M1.jinja",
    "MiniMax-M2.jinja",
    "MiniMax-M3.jinja",
    "Mistral-Small-3.2-24B-Instruct-2506.jinja",
    "NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.jinja",
    "NVIDIA-Nemotron-Nano-v2.jinja",
    "NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja",
    "NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja",
    "Qwen-QwQ-32B.jinja",
    "Qwen-Qwen2.5-7B-Instruct.jinja",
    "Qwen-Qwen3-0.6B.jinja",
    "Qwen3-Coder.jinja",
    "Qwen3.5-4B.jinja",
    "Reka-Edge.jinja",
    "Spark2.5.jinja",
    "StepFun3.5-Flash.jinja",
    "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja",
    "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja",
    "deepseek-ai-DeepSeek-V3.1.jinja",
    "deepseek-ai-DeepSeek-V3.2.jinja",
    "deepseek-ai-DeepSeek-V4-Flash-0731.jinja",
    "deepseek-ai-DeepSeek-V4.jinja",
    "google-gemma-2-2b-it.jinja",
    "google-gemma-4-31B-it-interleaved.jinja",
    "google-gemma-4-31B-it.jinja",
    "ibm-granite-granite-3.3-2B-Instruct.jinja",
    "ibm-granite-granite-4.0.jinja",
    "ibm-granite-granite-4.1.jinja",
    "inclusionai-ling-3.0-flash.jinja",
    "llama-cpp-deepseek-r1.jinja",
    "meetkai-functionary-medium-v3.1.jinja",
    "meetkai-functionary-medium-v3.2.jinja",
    "meta-llama-Llama-3.1-8B-Instruct.jinja",
    "meta-llama-Llama-3.2-3B-Instruct.jinja",
    "meta-llama-Llama-3.3-70B-Instruct.jinja",
    "microsoft-Phi-3.5-mini-instruct.jinja",
    "mistralai-Ministral-3-14B-Reasoning-2512.jinja",
    "mistralai-Mistral-Nemo-Instruct-2407.jinja",
    "moonshotai-Kimi-K2.jinja",
    "muse-glimmer.jinja",
    "openbmb-MiniCPM5-1B.jinja",
    "poolside-Laguna-S-2.1.jinja",
    "poolside-Laguna-XS-2.1.jinja",
    "poolside-Laguna-XS.2.jinja",
    "tencent-Hy3.jinja",
    "unsloth-Apriel-1.5.jinja",
    "unsloth-mistral-Devstral-Small-2507.jinja",
];

/// The date of the reference run (see `source.date` in the JSON).
const REFERENCE_DATE: (i64, u32, u32) = (2026, 11, 24);

#[test]
fn file_templates_render_like_llama_cpp() {
    let r = reference();
    let dir = repo_root().join(".cache/llama-testdata/templates");
    if !dir.exists() {
        eprintln!("skipping: {} is missing (scripts/fetch-llama-testdata.sh)", dir.display());
        return;
    }
    let cases = r["cases"].as_array().unwrap();
    let mut matching = Vec::new();
    for (name, want) in r["templates"].as_object().unwrap() {
        let src = std::fs::read_to_string(dir.join(name)).unwrap();
        let mut ok = true;
        for (case, expected) in cases.iter().zip(want["prompts"].as_array().unwrap()) {
            let got = ChatTemplate::new(&src, case["bos"].as_str().unwrap(), case["eos"].as_str().unwrap())
                .and_then(|mut t| {
                    // The day llama.cpp rendered the reference (templates print today's date).
                    let (y, m, d) = REFERENCE_DATE;
                    t.date = Some(Date::new(y, m, d)?);
                    t.render(&messages(case), case["add_generation_prompt"].as_bool().unwrap())
                });
            let same = match (&got, expected.as_str()) {
                (Ok(g), Some(e)) => g == e,
                _ => false,
            };
            if !same {
                ok = false;
                if MUST_MATCH.contains(&name.as_str()) {
                    panic!("{name}: brasa {got:?}\nllama.cpp {expected}");
                }
                eprintln!(
                    "differs: {name}: brasa {:?}\n   llama.cpp {:?}",
                    got.as_ref().map(|s| &s[..s.len().min(300)]),
                    expected.as_str().map(|s| &s[..s.len().min(300)])
                );
                break;
            }
        }
        if ok {
            matching.push(name.clone());
        }
    }
    eprintln!(
        "{} of {} templates render exactly as llama.cpp: {matching:?}",
        matching.len(),
        r["templates"].as_object().unwrap().len()
    );
    for name in MUST_MATCH {
        assert!(matching.iter().any(|m| m == name), "{name}");
    }
}

#[test]
fn builtin_templates_render_like_llama_cpp_builtins() {
    let r = reference();
    let cases = r["cases"].as_array().unwrap();
    for b in builtin::ALL {
        let want = r["builtin"][b.name].as_array().unwrap_or_else(|| panic!("no reference for {}", b.name));
        let t = ChatTemplate::new(b.source, "<s>", "</s>").unwrap();
        for (case, expected) in cases.iter().zip(want) {
            let got = t.render(&messages(case), case["add_generation_prompt"].as_bool().unwrap()).unwrap();
            assert_eq!(got, expected.as_str().unwrap(), "built-in {}", b.name);
        }
    }
}
