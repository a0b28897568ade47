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
    /// never API keys or users. Only sessions carry it (a user row is `admin`, `tenant` or `viewer`), so `parse`
    /// refuses it.
    Portal,
    /// Sees what a tenant user sees and changes nothing: every server function outside the read-only table
    /// (`server_fns::ctx::READ_ONLY`) is refused to it, and the UI shows it no write control.
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Tenant => "tenant",
            Role::Portal => "portal",
            Role::Viewer => "viewer",
        }
    }
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "tenant" => Some(Role::Tenant),
            "viewer" => Some(Role::Viewer),
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
    /// When an admin suspended it: its API keys are refused (403 "tenant suspended") and its deliveries wait as
    /// `paused` until it is resumed.
    #[serde(default)]
    pub suspended_at: Option<i64>,
    /// Every person of the tenant signs in with a second factor (TOTP); those without one enrol at sign-in.
    #[serde(default)]
    pub require_two_factor: bool,
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
            Role::Tenant | Role::Portal | Role::Viewer => self.tenant_id.as_deref() == Some(tenant_id),
        }
    }

    /// Whether the UI offers this user write controls (the server refuses a viewer's writes regardless).
    pub fn can_write(&self) -> bool {
        self.role != Role::Viewer
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

impl ShellContext {
    /// What components ask before showing a button that changes something.
    pub fn can_write(&self) -> bool {
        self.user.can_write()
    }
}

/// A tenant in the admins' Tenants page, with what it holds and how its deliveries fared over the last 24 hours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantSummary {
    pub tenant: Tenant,
    pub endpoints: i64,
    pub keys: i64,
    /// Deliveries created in the last 24 hours.
    pub deliveries_24h: i64,
    /// Of those, how many succeeded.
    pub succeeded_24h: i64,
}

impl TenantSummary {
    /// The share of the last day's finished deliveries that succeeded, in percent; None without deliveries.
    pub fn success_rate(&self) -> Option<f64> {
        (self.deliveries_24h > 0).then(|| self.succeeded_24h as f64 * 100.0 / self.deliveries_24h as f64)
    }
}

/// A person in a Users list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub user: User,
    /// Set once deactivated: sign-in is refused and their sessions have ended.
    pub deactivated_at: Option<i64>,
    /// Invited and has not set a password yet.
    pub invited: bool,
    /// Unexpired sessions.
    pub sessions: i64,
}

/// Who to invite: an admin names any role and tenant; a tenant's manager invites into their own tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewInvite {
    pub email: String,
    pub role: Role,
    /// Required for `tenant` and `viewer`, empty for `admin`.
    #[serde(default)]
    pub tenant_id: Option<String>,
}

/// A one-time link (invite or password reset): its URL is shown once, or emailed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedUserLink {
    pub user: User,
    pub url: String,
    pub expires_at: i64,
    /// The address the link was emailed to (SMTP configured and the mail server took it).
    #[serde(default)]
    pub emailed_to: Option<String>,
    /// Why emailing it failed (the link still opens: pass it on by hand).
    #[serde(default)]
    pub email_error: Option<String>,
}

/// A person's two-factor state, as their Account page shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorState {
    /// A confirmed authenticator: sign-in asks for its code.
    pub enabled: bool,
    /// Unused recovery codes left.
    pub recovery_codes_left: i64,
    /// Their tenant requires a second factor, so it cannot be switched off.
    pub required: bool,
}

/// An authenticator being set up: shown once, counted only after a correct code confirms it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpEnrolment {
    /// Base32, for typing into an app by hand.
    pub secret: String,
    /// The `otpauth://` link the QR code holds.
    pub otpauth_url: String,
    /// The QR code as an SVG document, drawn on the server (no styles: the CSP refuses them).
    pub qr_svg: String,
}

/// What a one-time link's page shows before the password is set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserLinkInfo {
    pub email: String,
    /// True for an invite, false for a password reset.
    pub invite: bool,
}

/// One of a user's sessions, as the Account page lists them (never its token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub created_at: i64,
    pub last_seen_at: Option<i64>,
    pub expires_at: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The session this list was asked from.
    pub current: bool,
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
