//! `Sha256` in JS: an incremental SHA-256 for the optional integrity check of a model file as it
//! streams (WebCrypto's `digest` needs the whole input at once).

use sha2::{Digest, Sha256 as Hasher};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct Sha256 {
    inner: Hasher,
}

#[wasm_bindgen]
impl Sha256 {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Sha256 {
        Sha256 { inner: Hasher::new() }
    }

    pub fn update(&mut self, chunk: &[u8]) {
        self.inner.update(chunk);
    }

    /// The digest of everything so far, as lowercase hex (the hasher can go on).
    pub fn hex(&self) -> String {
        self.inner.clone().finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl Default for Sha256 {
    fn default() -> Self {
        Self::new()
    }
}
