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
