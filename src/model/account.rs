//! Tenants, users and who is signed in: the identity types the UI, server functions and REST share.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees and manages every tenant.
    Admin,
    /// Sees only the tenant it belongs to.
    Tenant,
    /// A session opened from a tenant portal link: its tenant's endpoints, deliveries, replays and test-fires,
    /// never API keys or users. Only sessions carry it (a user row is `admin` or `tenant`), so `parse` refuses it.
    Portal,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Tenant => "tenant",
            Role::Portal => "portal",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "tenant" => Some(Role::Tenant),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct User {
    pub id: String,
    pub email: String,
    pub role: Role,
    /// Set for tenant users only.
    pub tenant_id: Option<String>,
    pub created_at: i64,
}

impl User {
    /// The one rule for tenant access, used by every server function and REST handler.
    pub fn can_access_tenant(&self, tenant_id: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Tenant | Role::Portal => self.tenant_id.as_deref() == Some(tenant_id),
        }
    }
}

/// What the shell needs to render a tenant's pages: who is signed in and which tenants they may switch to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ShellContext {
    pub user: User,
    pub tenant: Tenant,
    /// Every tenant for admins (the switcher), only their own for tenant users.
    pub tenants: Vec<Tenant>,
}

/// Where sign-in may send the browser afterwards: a path of this site (`/…`, not `//host` nor `/\host`, which
/// browsers read as another site), or nothing. Anything else is ignored, so a link cannot turn the sign-in page
/// into a redirect to another site.
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 2048
        && !next.chars().any(|c| c.is_control() || c == '\\');
    ok.then_some(next)
}

/// The sign-in page that returns to `next` (a path of this site) afterwards.
pub fn login_path(next: &str) -> String {
    if safe_next(next).is_none() || next == "/" {
        return "/login".to_string();
    }
    let mut out = String::from("/login?next=");
    for b in next.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod next_tests {
    use super::*;

    #[test]
    fn sign_in_returns_only_to_paths_of_this_site() {
        assert_eq!(safe_next("/t/ten_1/integrations?tab=api-keys"), Some("/t/ten_1/integrations?tab=api-keys"));
        for bad in ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "", "x"] {
            assert_eq!(safe_next(bad), None, "{bad}");
        }
        assert_eq!(safe_next("/a\nb"), None, "no control characters");
        assert_eq!(
            login_path("/t/ten_1/integrations?tab=api-keys"),
            "/login?next=/t/ten_1/integrations%3Ftab%3Dapi-keys"
        );
        assert_eq!(login_path("//evil.example"), "/login");
        assert_eq!(login_path("/"), "/login");
    }
}
