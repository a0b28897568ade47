//! Server-only code (feature `ssr`): configuration, store, services, REST API, auth.

pub mod app;
pub mod apps;
pub mod auth;
pub mod cli;
pub mod client_ip;
pub mod config;
pub mod delivery;
pub mod export;
pub mod html;
pub mod live;
pub mod portal;
pub mod rate_limit;
pub mod rest;
pub mod service;
pub mod site;
pub mod store;
pub mod unsubscribe;
