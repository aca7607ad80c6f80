//! Rows as a GGUF file stores them, with the values the Python `gguf` package's `dequantize`
//! gives for them (`crate/tests/data/quant`, made by scripts/gen_quant_testdata.py: real
//! gemma-3-270m rows and random blocks): repacked by [`BlockRepacker`] as an upload does,
//! embedded and multiplied on the GPU. The caller supplies the rows (the native test reads the
//! files; the browser test sends them to the page), so the shipped code carries no test data.

use super::matmul::{BUDGET, EMBED_BUDGET};
use super::{Checks, Rng, SelfTest};
use crate::error::{Error, Result};
use crate::quant::{BlockRepacker, QuantType};
use crate::reference::kernels as reference;

/// `rows × cols` elements of one block type: the file's bytes and gguf-py's values.
pub struct OracleRows {
    pub name: String,
    pub ty: QuantType,
    pub cols: usize,
    /// The rows as the GGUF file stores them.
    pub file: Vec<u8>,
    /// What `gguf.quants.dequantize` gives for them, row-major.
    pub values: Vec<f32>,
}

impl OracleRows {
    /// Checks that the bytes and values describe whole rows of `cols` elements of `type_name`
    /// (a ggml name such as `Q4_K`).
    pub fn new(name: &str, type_name: &str, cols: usize, file: Vec<u8>, values: Vec<f32>) -> Result<Self> {
        let ty = QuantType::ALL.into_iter().find(|t| t.name() == type_name).ok_or_else(|| {
            Error::InvalidArgument(format!("oracle rows {name:?}: unknown type {type_name:?}"))
        })?;
        let row_bytes = ty.row_bytes(cols as u64)? as usize;
        let rows = values.len() / cols.max(1);
        if cols == 0 || rows == 0 || values.len() != rows * cols || file.len() != rows * row_bytes {
            return Err(Error::InvalidArgument(format!(
                "oracle rows {name:?}: {} bytes and {} values are not whole rows of {cols} {type_name} elements",
                file.len(),
                values.len()
            )));
        }
        Ok(OracleRows { name: name.to_string(), ty, cols, file, values })
    }
}

pub(super) async fn run(t: &SelfTest<'_>, out: &mut Checks) -> Result<()> {
    out.holds("gguf_oracle", None, "", !t.oracle.is_empty(), "oracle rows were given");
    let mut rng = Rng(6);
    for o in t.oracle {
        if o.values.iter().any(|v| !v.is_finite()) {
            continue; // random F32/F16 bit patterns include inf and NaN: no use for a matmul
        }
        let (ty, cols, rows) = (o.ty, o.cols, o.values.len() / o.cols);
        let w = t.split.create_weight(&o.name, ty, rows as u64, cols as u64)?;
        // Row-aware, as the upload repacks (rows may end mid-pair or mid-word).
        let mut repacker = BlockRepacker::new(ty, rows as u64, cols as u64, 1 << 20)?;
        let mut put = |at: u64, b: &[u8]| t.split.write_weight(&w, at, b);
        repacker.push(&o.file, &mut put)?;
        repacker.finish(&mut put)?;

        let tokens: Vec<u32> = (0..rows as u32).rev().collect();
        let (tb, eb) = (t.u32_buffer(&tokens)?, t.zeros(rows * cols)?);
        let nt = 9;
        let x = rng.vec(nt * cols, -1.0, 1.0);
        let (xb, yb) = (t.f32_buffer(&x)?, t.zeros(nt * rows)?);
        let mut batch = t.batch();
        batch.embed(&w, &tb, &eb, rows as u32, 1.0);
        batch.matmul(&w, &xb, &yb, nt as u32);
        batch.submit()?;
        let got = t.read(&[(&eb, rows * cols), (&yb, nt * rows)]).await?;
        let shape = format!("{}: rows {rows} cols {cols} parts {}", o.name, w.parts.len());
        let want_embed = reference::embed(&o.values, cols, &tokens, 1.0);
        out.close("embed", Some(ty), &shape, &got[0], &want_embed, EMBED_BUDGET);
        let want = reference::matmul(&o.values, rows, cols, &x, nt);
        out.close("matmul", Some(ty), &format!("{shape} tokens {nt}"), &got[1], &want, BUDGET);
    }
    Ok(())
}
