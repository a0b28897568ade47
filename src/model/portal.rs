//! Tenant portal links: records an admin creates for one tenant and can revoke. The URL carries the link's id
//! and a random secret whose SHA-256 is all the hub keeps, so the URL is shown once, when it is created.

use serde::{Deserialize, Serialize};

/// A portal link as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PortalLink {
    pub id: String,
    pub tenant_id: String,
    /// Who or what the link is for, as the admin wrote it.
    pub label: Option<String>,
    /// The id of the user (or `system`) who created it.
    pub created_by: String,
    /// That user's email, while the user exists.
    pub created_by_email: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    /// When the link last opened a portal session.
    pub last_used_at: Option<i64>,
}

impl PortalLink {
    /// Whether it still opens the portal (and its sessions still work) at `now` (unix ms).
    pub fn is_usable(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at > now
    }
}

/// A new link with its URL: the only time the URL is available.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct IssuedPortalLink {
    pub url: String,
    pub link: PortalLink,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewPortalLink {
    #[serde(default)]
    pub label: Option<String>,
    /// How long the link (and every session it opens) lasts: 1 second to 30 days.
    pub expires_in_seconds: u64,
}
