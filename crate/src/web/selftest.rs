//! `Engine.selfTest` in JS: the kernel self-test ([`crate::selftest`]) on this engine's device,
//! as a plain object the page can show or `JSON.stringify`.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::{js_error, set, Engine};
use crate::gpu::{cpu_emulated, KernelVariants, VariantRequest};
use crate::selftest::{OracleRows, SelfTest, Suite};
use crate::Error;

#[wasm_bindgen]
impl Engine {
    /// Runs the kernel self-test on this engine's device and kernel variants: every kernel and
    /// block type on random data and odd shapes, each output against the CPU reference with a
    /// stated budget. `options` (optional): `suites` (names, see `selfTestSuites()`; default
    /// all but `gguf_oracle`), `variants` (as `Engine.create` takes them, e.g. `nosubgroups`:
    /// other variants the device supports, on the same device) and `oracle` (`[{name, type,
    /// cols, file: Uint8Array, values: Float32Array}]`: rows as a GGUF file stores them and the
    /// values the Python gguf package dequantizes, for `gguf_oracle`, which then runs by
    /// default too). Resolves to `{variants: {reduction, f16, matmul}, passed,
    /// seconds, checks: [{suite, kernel, type, shape, measure, error, budget, passed, detail}]}`
    /// (`type` is null for kernels without weights; an infinite error is `Infinity`).
    #[wasm_bindgen(js_name = selfTest)]
    pub async fn self_test(&self, options: JsValue) -> Result<js_sys::Object, JsValue> {
        let oracle = oracle_rows(&options)?;
        let suites = match field(&options, "suites")? {
            Some(list) => js_sys::Array::from(&list)
                .iter()
                .map(|s| Suite::parse(&s.as_string().unwrap_or_default()).map_err(js_error))
                .collect::<Result<Vec<_>, _>>()?,
            None => {
                Suite::ALL.into_iter().filter(|&s| s != Suite::GgufOracle || !oracle.is_empty()).collect()
            }
        };
        let ctx = &self.inner.ctx;
        let mut test = SelfTest::new(ctx, &self.inner.kernels).with_oracle(&oracle);
        if let Some(v) = field(&options, "variants")? {
            let request =
                VariantRequest::parse(&v.as_string().ok_or_else(|| bad("variants must be a string"))?);
            let variants = KernelVariants::choose(
                ctx.features,
                cpu_emulated(&ctx.adapter_info),
                request.map_err(js_error)?,
            )
            .map_err(js_error)?;
            test = test.with_variants(variants).map_err(js_error)?;
        }
        let report = test.run_all(&suites).await;

        let o = js_sys::Object::new();
        let variants = js_sys::Object::new();
        let subgroups = report.variants.reduction == crate::gpu::Reduction::Subgroup;
        set(&variants, "reduction", (if subgroups { "subgroup" } else { "workgroup" }).into());
        set(&variants, "f16", report.variants.f16.into());
        set(&variants, "matmul", report.variants.matmul.name().into());
        set(&o, "variants", variants.into());
        set(&o, "passed", report.passed().into());
        set(&o, "seconds", report.seconds.into());
        let checks: js_sys::Array = report
            .checks
            .iter()
            .map(|c| {
                let e = js_sys::Object::new();
                set(&e, "suite", c.suite.name().into());
                set(&e, "kernel", c.kernel.into());
                set(&e, "type", c.ty.map_or(JsValue::NULL, |t| t.name().into()));
                set(&e, "shape", c.shape.as_str().into());
                set(&e, "measure", c.measure.name().into());
                set(&e, "error", c.error.into());
                set(&e, "budget", c.budget.into());
                set(&e, "passed", c.passed().into());
                set(&e, "detail", c.detail.as_str().into());
                JsValue::from(e)
            })
            .collect();
        set(&o, "checks", checks.into());
        Ok(o)
    }
}

/// The self-test's suites: `[{name, reductionVariants, tilingVariants}]`, where
/// `reductionVariants` says whether the suite runs kernels that differ between the reduction
/// variants (a second engine with `nosubgroups` checks other code only in those) and
/// `tilingVariants` whether it runs the prefill mat-mul (whose f16 tiles run only when asked
/// for, `variants: 'wgmatmul,f16'`).
#[wasm_bindgen(js_name = selfTestSuites)]
pub fn self_test_suites() -> js_sys::Array {
    Suite::ALL
        .iter()
        .map(|s| {
            let o = js_sys::Object::new();
            set(&o, "name", s.name().into());
            set(&o, "reductionVariants", s.has_reduction_variants().into());
            set(&o, "tilingVariants", s.has_tiling_variants().into());
            JsValue::from(o)
        })
        .collect()
}

fn bad(what: &str) -> JsValue {
    js_error(Error::InvalidArgument(format!("selfTest options: {what}")))
}

/// `obj[key]`, `None` when `obj` or the field is undefined or null.
fn field(obj: &JsValue, key: &str) -> Result<Option<JsValue>, JsValue> {
    if obj.is_undefined() || obj.is_null() {
        return Ok(None);
    }
    let v = js_sys::Reflect::get(obj, &key.into()).map_err(|_| bad("not an object"))?;
    Ok((!v.is_undefined() && !v.is_null()).then_some(v))
}

fn oracle_rows(options: &JsValue) -> Result<Vec<OracleRows>, JsValue> {
    let Some(list) = field(options, "oracle")? else { return Ok(Vec::new()) };
    js_sys::Array::from(&list)
        .iter()
        .map(|e| {
            let text = |key: &str| field(&e, key).map(|v| v.and_then(|v| v.as_string()).unwrap_or_default());
            let name = text("name")?;
            let ty = text("type")?;
            let cols = field(&e, "cols")?.and_then(|v| v.as_f64()).filter(|c| *c >= 1.0 && c.fract() == 0.0);
            let cols =
                cols.ok_or_else(|| bad(&format!("oracle {name:?}: cols must be a positive integer")))?;
            let file = field(&e, "file")?.and_then(|v| v.dyn_into::<js_sys::Uint8Array>().ok());
            let values = field(&e, "values")?.and_then(|v| v.dyn_into::<js_sys::Float32Array>().ok());
            let (Some(file), Some(values)) = (file, values) else {
                return Err(bad(&format!(
                    "oracle {name:?}: file must be a Uint8Array and values a Float32Array"
                )));
            };
            OracleRows::new(&name, &ty, cols as usize, file.to_vec(), values.to_vec()).map_err(js_error)
        })
        .collect()
}
