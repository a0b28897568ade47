//! Outbound delivery: the worker, the sender, retries, signing (Standard Webhooks) and the SSRF guard.

pub mod dispatch;
pub mod metrics;
pub mod playground;
pub mod retry;
pub mod sender;
pub mod sign;
pub mod ssrf;
pub mod template;
pub mod worker;
