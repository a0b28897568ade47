//! Outbound delivery: signing (Standard Webhooks) and the SSRF guard.

pub mod sign;
pub mod ssrf;
