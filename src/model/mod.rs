//! Serde types shared by the UI (WASM), server functions, the REST API and the delivery worker.
//! Defined once here; nothing mirrors them elsewhere.

pub mod account;
pub mod api_key;
pub mod destination;
pub mod error;
pub mod event;
pub mod filter;
pub mod page;
pub mod portal;
pub mod schema;
pub mod stats;
pub mod tools;
pub mod webhook;

pub use account::*;
pub use api_key::*;
pub use destination::{DestinationKind, DestinationPreview, MessageField, MessageTemplate, RenderedMessage, Tone};
pub use error::*;
pub use event::*;
pub use page::{Paged, PAGE_MAX};
pub use portal::*;
pub use stats::*;
pub use tools::*;
pub use webhook::*;
