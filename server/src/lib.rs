//! The `latchkey` server: configuration, start-up, the HTTP router and the REST adapters.

pub mod config;
pub mod db;
pub mod hosts;
pub mod http_errors;
pub mod rest;
pub mod sso;
pub mod startup;
pub mod telemetry;
