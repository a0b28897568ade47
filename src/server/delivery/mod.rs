//! Outbound delivery: the worker, the sender, the delivery policy (retries, the breaker), signing (Standard
//! Webhooks), endpoint secrets for sending, payload templates and the SSRF guard. The queue the worker takes
//! deliveries from is the store's ([`crate::server::store::queue`]).

mod attempt;
pub mod chat;
pub mod context;
pub mod email;
pub mod message;
pub mod metrics;
pub mod playground;
pub mod policy;
pub mod secrets;
pub mod sender;
pub mod sign;
pub mod ssrf;
pub mod template;
pub mod worker;
