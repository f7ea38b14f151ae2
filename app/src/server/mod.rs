//! Server-only code: the database entities, the service layer that holds every rule, and the
//! request context the transports (server functions, REST, CLI) build before calling a service.

pub mod clock;
pub mod context;
pub mod crypto;
pub mod entities;
pub mod mail;
pub mod outbound;
pub mod passwords;
pub mod services;
pub mod sms;
pub mod state;

pub use clock::{Clock, ManualClock, SystemClock};
pub use context::{Actor, Realm, RequestMeta};
pub use state::{AppState, DEFAULT_API_REQUESTS_PER_MINUTE, ServiceConfig};
