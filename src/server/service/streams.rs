//! How many live streams each session holds open: the limit is the hub's (`HUB_MAX_STREAMS_PER_SESSION`); the
//! streams themselves are `live.rs`.

use crate::model::{AppError, ErrorCode};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Open streams per session (by the SHA-256 of its token), so one session cannot hold an unbounded number of
/// connections and subscriptions (`HUB_MAX_STREAMS_PER_SESSION`).
#[derive(Default)]
pub struct StreamCounts(Arc<Mutex<HashMap<String, u32>>>);

/// One open stream's place in [`StreamCounts`], given back when the stream is dropped.
pub struct StreamSlot {
    counts: Arc<Mutex<HashMap<String, u32>>>,
    key: String,
}

impl StreamCounts {
    pub fn take(&self, token: &str, max: u32) -> Result<StreamSlot, AppError> {
        use sha2::{Digest, Sha256};
        let key = hex::encode(Sha256::digest(token.as_bytes()));
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(key.clone()).or_insert(0);
        if max > 0 && *n >= max {
            return Err(AppError::new(
                ErrorCode::RateLimited,
                format!("this session already has {max} live streams open: close another tab first"),
            ));
        }
        *n += 1;
        Ok(StreamSlot { counts: self.0.clone(), key })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut map = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                map.remove(&self.key);
            }
        }
    }
}
