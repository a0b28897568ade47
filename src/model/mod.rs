//! Serde types shared by the UI (WASM), server functions, the REST API and the delivery worker.
//! Defined once here; nothing mirrors them elsewhere.

pub mod account;
pub mod api_key;
pub mod apps;
pub mod audit;
pub mod destination;
pub mod error;
pub mod event;
pub mod event_search;
pub mod filter;
pub mod page;
pub mod portal;
pub mod samples;
pub mod schema;
pub mod stats;
pub mod tools;
pub mod usage;
pub mod webhook;

pub use account::*;
pub use api_key::*;
pub use apps::*;
pub use audit::*;
pub use destination::{DestinationKind, DestinationPreview, MessageField, MessageTemplate, RenderedMessage, Tone};
pub use error::*;
pub use event::*;
pub use event_search::*;
pub use page::{Page, Paged, PAGE_MAX};
pub use portal::*;
pub use stats::*;
pub use tools::*;
pub use usage::*;
pub use webhook::*;
