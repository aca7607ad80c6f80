//! The `brasa` binary as a user runs it: stdout carries only generated text, errors are typed
//! and exit non-zero without a panic.

mod common;

use std::process::Command;

fn brasa() -> Command {
    Command::new(env!("CARGO_BIN_EXE_brasa"))
}

#[test]
fn run_prints_only_generated_text() {
    let Some(model) = common::model_path() else { return };
    let out = brasa()
        .args(["run", "--model"])
        .arg(&model)
        .args(["--prompt", "The capital of France is", "--max-tokens", "6", "--temperature", "0"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stderr: {stderr}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(!stdout.trim().is_empty(), "no text generated; stderr: {stderr}");
    assert!(!stdout.contains("tok/s") && !stdout.contains("loaded"), "logs leaked to stdout: {stdout:?}");
    assert!(stderr.contains("tok/s"), "timings missing from stderr: {stderr}");
}

#[test]
fn inspect_lists_tensors() {
    let Some(model) = common::model_path() else { return };
    let out = brasa().arg("inspect").arg(&model).output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("general.architecture") && stdout.contains("gemma3"));
    assert!(stdout.contains("token_embd.weight") && stdout.contains("Q8_0"));
    assert_eq!(stdout.lines().filter(|l| l.contains(".weight")).count(), 236);
}

#[test]
fn bad_files_give_typed_errors() {
    let dir = std::env::temp_dir().join(format!("brasa-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let cases: [(&str, &[u8], &str); 3] = [
        ("empty.gguf", b"", "truncated"),
        ("magic.gguf", b"GGML\x03\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", "bad_file"),
        ("version.gguf", b"GGUF\x07\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", "unsupported_version"),
    ];
    for (name, bytes, code) in cases {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        for args in [vec!["inspect"], vec!["run", "--prompt", "x", "--model"]] {
            let out = brasa().args(&args).arg(&p).output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{name} {args:?}: {stderr}");
            assert!(stderr.contains(&format!("[{code}]")), "{name} {args:?}: {stderr}");
            assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        }
    }
}

/// `brasa tokenize` against llama.cpp's `llama-tokenize` (tests/reference/tokenize-cli.json:
/// its stdout byte for byte, for the real model and two vocabulary-only files, with every flag).
#[test]
fn tokenize_prints_what_llama_tokenize_prints() {
    let root = common::repo_root();
    let text = std::fs::read_to_string(root.join("tests/reference/tokenize-cli.json")).unwrap();
    let reference: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut checked = 0;
    for case in reference["cases"].as_array().unwrap() {
        let name = case["model"].as_str().unwrap();
        let path = root.join(reference["models"][name].as_str().unwrap());
        if !path.exists() {
            eprintln!("skipping {name}: {} is missing", path.display());
            continue;
        }
        let args: Vec<&str> = case["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
        let out = brasa().args(["tokenize", "--model"]).arg(&path).args(&args).output().unwrap();
        assert!(out.status.success(), "{name} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let hex: String = out.stdout.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            case["stdout_hex"].as_str().unwrap(),
            "{name} {args:?}: brasa printed {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
        checked += 1;
    }
    eprintln!("{checked} tokenize cases equal to llama-tokenize's output");
    // The text must be valid UTF-8 after unescaping: a clear error, not a panic.
    if let Some(model) = common::model_path() {
        let out =
            brasa().args(["tokenize", "--model"]).arg(&model).args(["--prompt", "\\xff"]).output().unwrap();
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("invalid_argument") && stderr.contains("UTF-8"), "{stderr}");
    }
}

/// `brasa chat` reads user turns from stdin, renders them with the built-in Gemma template
/// (gemma-3-270m has none) and prints a reply per turn.
#[test]
fn chat_answers_each_line_with_the_builtin_template() {
    use std::io::Write;
    let Some(model) = common::model_path() else { return };
    let mut child = brasa()
        .args(["chat", "--model"])
        .arg(&model)
        .args(["--max-tokens", "4", "--show-prompt", "--system", "Be brief."])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"Hello\n\nName a color.\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("Builtin(\"gemma\")"), "{stderr}");
    // The second turn's prompt holds the whole conversation, the system text in the first turn.
    assert!(
        stderr.contains("<start_of_turn>user\nBe brief.\n\nHello<end_of_turn>\n<start_of_turn>model\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("<start_of_turn>user\nName a color.<end_of_turn>\n<start_of_turn>model\n"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("prompt tokens").count(), 2, "one reply per non-empty line: {stderr}");
}

/// `brasa selftest` runs kernel suites on the GPU and says how many checks passed; an unknown
/// suite is a typed error.
#[test]
fn selftest_checks_kernels_and_refuses_unknown_suites() {
    if std::env::var("BRASA_SKIP_GPU_TESTS").as_deref() == Ok("1") {
        return;
    }
    let out = brasa().args(["selftest", "--suites", "rms_norm,add_norm"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains(" checks in 2 suites") && stdout.contains(": 0 over budget"), "{stdout}");
    let out = brasa().args(["selftest", "--list"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), brasa::selftest::Suite::ALL.len());
    let out = brasa().args(["selftest", "--suites", "nope"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("[invalid_argument]") && !stderr.contains("panicked"), "{stderr}");
}
