//! Credentials: human passwords (argon2id), browser sessions, the master key that encrypts secrets at rest,
//! and sign-in throttling.

pub mod api_key;
pub mod cidr;
pub mod crypto;
pub mod password;
pub mod session;
pub mod throttle;
pub mod unsubscribe_link;
