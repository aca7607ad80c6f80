//! Built-in chat templates, for files that carry none (gemma-3-270m is one). Each renders the
//! same text as llama.cpp's built-in template of that name (`llama_chat_apply_template`;
//! checked in `crate/tests/chat_templates.rs`).

/// A named built-in template.
#[derive(Clone, Copy, Debug)]
pub struct Builtin {
    /// llama.cpp's name for the format.
    pub name: &'static str,
    pub source: &'static str,
}

/// Gemma 1–3: `user` and `model` turns; a system message is prepended to the first user turn.
pub const GEMMA: Builtin = Builtin {
    name: "gemma",
    source: concat!(
        "{%- set sys = namespace(prefix='') -%}",
        "{%- for message in messages -%}",
        "{%- if message.role == 'system' -%}{%- set sys.prefix = sys.prefix + (message.content | trim) + '\n\n' -%}",
        "{%- else -%}",
        "{%- set role = 'model' if message.role == 'assistant' else message.role -%}",
        "<start_of_turn>{{ role }}\n{{ sys.prefix }}{{ message.content | trim }}<end_of_turn>\n",
        "{% set sys.prefix = '' %}",
        "{%- endif -%}",
        "{%- endfor -%}",
        "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}",
    ),
};

/// ChatML (Qwen 2/2.5/3, SmolLM, and the fallback).
pub const CHATML: Builtin = Builtin {
    name: "chatml",
    source: concat!(
        "{%- for message in messages -%}",
        "<|im_start|>{{ message.role }}\n{{ message.content }}<|im_end|>\n",
        "{% endfor %}",
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
    ),
};

/// Llama 3.x.
pub const LLAMA3: Builtin = Builtin {
    name: "llama3",
    source: concat!(
        "{%- for message in messages -%}",
        "<|start_header_id|>{{ message.role }}<|end_header_id|>\n\n{{ message.content | trim }}<|eot_id|>",
        "{%- endfor -%}",
        "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}",
    ),
};

/// Phi-3.
pub const PHI3: Builtin = Builtin {
    name: "phi3",
    source: concat!(
        "{%- for message in messages -%}",
        "<|{{ message.role }}|>\n{{ message.content }}<|end|>\n",
        "{% endfor %}",
        "{% if add_generation_prompt %}<|assistant|>\n{% endif %}",
    ),
};

pub const ALL: [Builtin; 4] = [GEMMA, CHATML, LLAMA3, PHI3];

/// The built-in template for a model without one: by architecture, then by the special tokens
/// its vocabulary has (`has(token_text)`), then ChatML.
pub fn for_model(arch: &str, has: &dyn Fn(&str) -> bool) -> Builtin {
    if arch.starts_with("gemma") || has("<start_of_turn>") {
        GEMMA
    } else if has("<|im_start|>") {
        CHATML
    } else if has("<|eot_id|>") {
        LLAMA3
    } else if has("<|assistant|>") && has("<|end|>") {
        PHI3
    } else {
        CHATML
    }
}
