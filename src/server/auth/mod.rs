//! Credentials: human passwords (argon2id), browser sessions, the master key that encrypts secrets at rest,
//! sign-in throttling and two-factor codes.

pub mod api_key;
pub mod cidr;
pub mod crypto;
pub mod password;
pub mod session;
pub mod throttle;
pub mod totp;
pub mod unsubscribe_link;
