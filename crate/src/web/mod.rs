//! The wasm-bindgen surface: the JS classes that the page (through `pkg/`) drives.
//!
//! This layer is deliberately thin. Each class wraps one Rust type and converts arguments and
//! results; no model or generation logic lives here. Rules at the boundary:
//! - every fallible call returns `Result<_, JsValue>` whose error is a JS `Error` with a stable
//!   `code` property ([`crate::Error::code`]), made by [`js_error`];
//! - nothing here may panic on input from JS; `console_error_panic_hook` is installed at start so
//!   that a bug (which aborts the wasm instance) at least logs its message and location.

mod digest;
mod engine;
mod inspect;
mod loader;
#[cfg(feature = "selftest")]
mod selftest;
mod session;

pub use digest::Sha256;
pub use engine::Engine;
pub use inspect::HeaderProbe;
pub use loader::{Model, ModelLoader};
pub use session::{perplexity, Session};

use wasm_bindgen::prelude::*;

/// The wasm heap: the default allocator, counting the bytes live in it. Wasm memory only grows, so
/// its size is a high-water mark that moves with when JS collects the objects it dropped; the live
/// count is what shows a leak. Counting costs two relaxed atomic adds per allocation.
#[global_allocator]
static HEAP: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, usize::MAX);

/// Bytes allocated and not yet freed on the wasm heap.
#[wasm_bindgen(js_name = heapBytesInUse)]
pub fn heap_bytes_in_use() -> f64 {
    HEAP.allocated() as f64
}

/// Runs once when the module is instantiated.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Converts a brasa error into a JS `Error` whose `code` is the error's stable code.
pub(crate) fn js_error(e: crate::Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    // Setting a property on a fresh plain object cannot fail; ignore the Result rather than unwrap.
    let _ = js_sys::Reflect::set(&err, &"code".into(), &e.code().into());
    err.into()
}

/// Sets a property on a plain object (cannot fail for a fresh `Object`, so the result is ignored).
pub(crate) fn set(o: &js_sys::Object, key: &str, value: JsValue) {
    let _ = js_sys::Reflect::set(o, &key.into(), &value);
}

/// The crate version, so a page can show which build it runs.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
