//! Page sizes of the lists, one definition for the REST API, the server functions and the service.

use super::{DeliveryListQuery, EventListQuery, WebhookListQuery};

/// The most rows one page returns.
pub const PAGE_MAX: u32 = 500;

/// One page of a keyset-paged list, as the REST API answers it and the UI's "Load more" reads it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    /// The last id of this page when it is full (there may be more), to pass back as `cursor`.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A full page means there may be more, and its last id is the next cursor.
    pub fn of(data: Vec<T>, limit: usize, id: impl Fn(&T) -> &str) -> Page<T> {
        let next_cursor = if data.len() == limit { data.last().map(|x| id(x).to_string()) } else { None };
        Page { data, next_cursor }
    }
}

/// A list query with an optional page size.
pub trait Paged {
    /// Rows returned when the query asks for no particular number.
    const DEFAULT_LIMIT: u32;

    fn requested_limit(&self) -> Option<u32>;

    /// The page size the list uses: the requested one, within 1..=[`PAGE_MAX`].
    fn page_limit(&self) -> u32 {
        self.requested_limit().unwrap_or(Self::DEFAULT_LIMIT).clamp(1, PAGE_MAX)
    }
}

impl Paged for EventListQuery {
    const DEFAULT_LIMIT: u32 = 50;
    fn requested_limit(&self) -> Option<u32> {
        self.limit
    }
}

impl Paged for DeliveryListQuery {
    const DEFAULT_LIMIT: u32 = 50;
    fn requested_limit(&self) -> Option<u32> {
        self.limit
    }
}

impl Paged for WebhookListQuery {
    const DEFAULT_LIMIT: u32 = 100;
    fn requested_limit(&self) -> Option<u32> {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_is_the_default_or_the_request_within_bounds() {
        assert_eq!(EventListQuery::default().page_limit(), 50);
        assert_eq!(WebhookListQuery::default().page_limit(), 100);
        let q = |limit| DeliveryListQuery { limit: Some(limit), ..Default::default() };
        assert_eq!((q(0).page_limit(), q(7).page_limit(), q(10_000).page_limit()), (1, 7, PAGE_MAX));
    }
}
