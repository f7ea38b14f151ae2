//! Latchkey's shared crate: types and rules used by the browser (`csr`) and the server (`ssr`).
//!
//! The UI, the server functions and the REST API all speak the types in [`types`] and fail with
//! one [`AppError`]; the rules live in `server::services` (server only).

// The MFA set-up view's type nests deeper than the default limit allows.
#![recursion_limit = "256"]

// First, so that `text_enum!` is in scope for every module below.
#[macro_use]
pub mod types;

pub mod api;
pub mod components;
pub mod domain;
pub mod error;
pub mod pages;

#[cfg(feature = "ssr")]
pub mod server;

pub use error::{AppError, AuthFailure};
pub use pages::App;
