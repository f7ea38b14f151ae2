//! The browser build keeps its relocations, which `wasm-split-cli` needs to split the lazy
//! screens out of the main module (see `scripts/wasm-bindgen`).

fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-bin=frontend=--emit-relocs");
    }
}
