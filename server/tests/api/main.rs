//! HTTP integration tests: the real router on a random port, a fresh database per test
//! (a SQLite file, or a new PostgreSQL database when LATCHKEY_TEST_PG_URL is set).

mod helpers;
#[path = "../support/smtp_sink.rs"]
mod smtp_sink;

mod account_actions;
mod command_line;
mod console;
mod cross_tenant;
mod edit_user;
mod enumeration;
mod hardening;

mod hosts;
mod idp;
mod invites;
mod isolation;
mod mail;
mod mfa;
mod outbox;
mod recovery;
mod rest;
mod rest_v1;
mod search;
mod server_functions;
mod sign_in;
mod sms;
mod sso;
mod temporary_passwords;
