//! `brasa inspect`: a GGUF file's metadata and tensor table.

use std::path::PathBuf;

use brasa::Result;

#[derive(clap::Args)]
pub struct Args {
    model: PathBuf,
}

pub fn inspect(args: Args) -> Result<()> {
    let file = brasa::gguf::read_header(&args.model)?;
    println!(
        "GGUF v{}  {} bytes  data at {}  alignment {}",
        file.version, file.file_len, file.data_offset, file.alignment
    );
    println!("metadata ({} keys):", file.metadata.entries.len());
    for (k, v) in &file.metadata.entries {
        println!("  {k} = {}", summarize(v));
    }
    println!("tensors ({}):", file.tensors.len());
    for t in &file.tensors {
        println!(
            "  {:<36} {:<6} {:>20} {:>12} bytes @ {}",
            t.name,
            brasa::quant::QuantType::ggml_name(t.type_id),
            format!("{:?}", t.dims),
            t.n_bytes,
            t.offset
        );
    }
    Ok(())
}
/// One line for a metadata value: arrays show their length and first elements.
fn summarize(v: &brasa::gguf::Value) -> String {
    use brasa::gguf::{ArrayValue as A, Value as V};
    fn head<T: std::fmt::Debug>(kind: &str, xs: &[T]) -> String {
        let shown: Vec<String> = xs.iter().take(6).map(|x| format!("{x:?}")).collect();
        let more = if xs.len() > 6 { ", …" } else { "" };
        format!("[{kind}; {}] [{}{more}]", xs.len(), shown.join(", "))
    }
    match v {
        V::Array(a) => match a {
            A::U8(x) => head("u8", x),
            A::I8(x) => head("i8", x),
            A::U16(x) => head("u16", x),
            A::I16(x) => head("i16", x),
            A::U32(x) => head("u32", x),
            A::I32(x) => head("i32", x),
            A::F32(x) => head("f32", x),
            A::Bool(x) => head("bool", x),
            A::String(x) => head("str", x),
            A::Array(x) => format!("[array; {}]", x.len()),
            A::U64(x) => head("u64", x),
            A::I64(x) => head("i64", x),
            A::F64(x) => head("f64", x),
        },
        V::String(s) if s.len() > 120 => format!("{:?}…", &s[..s.floor_char_boundary(120)]),
        other => format!("{other:?}"),
    }
}
