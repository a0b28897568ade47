//! Webhook endpoints. Signing secrets and custom header values are stored sealed (AES-GCM under the master key,
//! sealed and opened by the service: `headers` holds name → sealed value); rows are soft-deleted
//! so their delivery history stays readable.

use super::{now_ms, DbResult, Store};
use crate::model::{ContentType, DestinationKind, EndpointCounts, MessageTemplate, Webhook, WebhookListQuery};
use sqlx::any::AnyRow;
use sqlx::Row;

pub(super) const COLS: &str =
    "id, tenant_id, name, kind, url, destination, description, events, filters, headers, content_type, template, \
    max_retries, retry_delay_seconds, backoff_factor, timeout_ms, rate_limit_per_minute, is_active, disabled_reason, \
    created_by, created_at, updated_at, last_triggered_at, last_error_at, last_error, total_delivered, total_failed";

fn u32_col(r: &AnyRow, c: &str) -> DbResult<u32> {
    Ok(r.try_get::<i64, _>(c)?.clamp(0, i64::from(u32::MAX)) as u32)
}

pub(super) fn webhook_from(r: &AnyRow) -> DbResult<Webhook> {
    let events: String = r.try_get("events")?;
    let filters: String = r.try_get("filters")?;
    let headers: String = r.try_get("headers")?;
    let ct: String = r.try_get("content_type")?;
    let kind: String = r.try_get("kind")?;
    let destination: String = r.try_get("destination")?;
    let destination: Destination = serde_json::from_str(&destination).unwrap_or_default();
    Ok(Webhook {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        name: r.try_get("name")?,
        kind: DestinationKind::parse(&kind).unwrap_or_default(),
        url: r.try_get("url")?,
        recipients: destination.recipients,
        message: destination.message,
        description: r.try_get("description")?,
        events: serde_json::from_str(&events).unwrap_or_default(),
        filters: serde_json::from_str(&filters).unwrap_or_default(),
        headers: serde_json::from_str(&headers).unwrap_or_default(),
        content_type: ContentType::parse(&ct).unwrap_or_default(),
        template: r.try_get("template")?,
        max_retries: u32_col(r, "max_retries")?,
        retry_delay_seconds: u32_col(r, "retry_delay_seconds")?,
        backoff_factor: r.try_get("backoff_factor")?,
        timeout_ms: u32_col(r, "timeout_ms")?,
        rate_limit_per_minute: u32_col(r, "rate_limit_per_minute")?,
        is_active: r.try_get::<i64, _>("is_active")? != 0,
        disabled_reason: r.try_get("disabled_reason")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        last_triggered_at: r.try_get("last_triggered_at")?,
        last_error_at: r.try_get("last_error_at")?,
        last_error: r.try_get("last_error")?,
        total_delivered: r.try_get("total_delivered")?,
        total_failed: r.try_get("total_failed")?,
    })
}

/// The `destination` column: what only some kinds have.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Destination {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    recipients: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<MessageTemplate>,
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// The sealed signing secrets of one endpoint (sealed for that endpoint's id, which they are read with).
#[derive(Debug, Clone)]
pub struct SealedSecrets {
    pub webhook_id: String,
    pub current: String,
    pub previous: Option<String>,
    pub previous_expires_at: Option<i64>,
}

/// One endpoint's sealed columns as stored (`headers` is the JSON object of name → sealed value).
#[derive(Debug, Clone)]
pub struct SealedRow {
    pub id: String,
    pub current: String,
    pub previous: Option<String>,
    pub headers: String,
}

/// The columns a person edits, in the order [`bind_editable`] binds them.
const EDITABLE: [&str; 17] = [
    "name",
    "kind",
    "url",
    "destination",
    "description",
    "events",
    "filters",
    "headers",
    "content_type",
    "template",
    "max_retries",
    "retry_delay_seconds",
    "backoff_factor",
    "timeout_ms",
    "rate_limit_per_minute",
    "is_active",
    "disabled_reason",
];

fn bind_editable<'q>(
    q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    w: &'q Webhook,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    let destination = Destination { recipients: w.recipients.clone(), message: w.message.clone() };
    q.bind(&w.name)
        .bind(w.kind.as_str())
        .bind(&w.url)
        .bind(json(&destination))
        .bind(&w.description)
        .bind(json(&w.events))
        .bind(json(&w.filters))
        .bind(json(&w.headers))
        .bind(w.content_type.as_str())
        .bind(w.template.as_deref())
        .bind(i64::from(w.max_retries))
        .bind(i64::from(w.retry_delay_seconds))
        .bind(w.backoff_factor)
        .bind(i64::from(w.timeout_ms))
        .bind(i64::from(w.rate_limit_per_minute))
        .bind(i64::from(w.is_active))
        .bind(w.disabled_reason.as_deref())
}

impl Store {
    pub async fn insert_webhook(&self, w: &Webhook, secret_sealed: &str) -> DbResult<()> {
        let sql = format!(
            "INSERT INTO webhooks ({}, id, tenant_id, secret_sealed, created_by, created_at, updated_at) VALUES ({})",
            EDITABLE.join(", "),
            (1..=EDITABLE.len() + 6).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
        );
        bind_editable(sqlx::query(&sql), w)
            .bind(&w.id)
            .bind(&w.tenant_id)
            .bind(secret_sealed)
            .bind(w.created_by.clone())
            .bind(w.created_at)
            .bind(w.updated_at)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// A live endpoint, only within `tenant` when given.
    pub async fn get_webhook(&self, id: &str, tenant: Option<&str>) -> DbResult<Option<Webhook>> {
        let row = sqlx::query(&format!(
            "SELECT {COLS} FROM webhooks WHERE id = $1 AND ($2 IS NULL OR tenant_id = $2) AND deleted_at IS NULL"
        ))
        .bind(id)
        .bind(tenant.map(str::to_string))
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(webhook_from).transpose()
    }

    /// Keyset-paginated by id; search on name and URL. Event-type filtering happens in the service. A connected
    /// app's hidden endpoint (kind `app`) is the connection's, never listed as an endpoint.
    pub async fn list_webhooks(
        &self,
        tenant: Option<&str>,
        q: &WebhookListQuery,
        limit: i64,
    ) -> DbResult<Vec<Webhook>> {
        // `%` and `_` typed into the search box are literal characters, not wildcards.
        let search = q.search.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(|s| {
            let escaped = s.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            format!("%{escaped}%")
        });
        let active = match q.status.as_deref() {
            Some("active") => Some(1i64),
            Some("disabled") => Some(0),
            _ => None,
        };
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM webhooks WHERE deleted_at IS NULL AND kind <> 'app' AND ($1 IS NULL OR tenant_id = $1) \
             AND ($2 IS NULL OR LOWER(name) LIKE $2 ESCAPE '\\' OR LOWER(url) LIKE $2 ESCAPE '\\') \
             AND ($3 IS NULL OR is_active = $3) \
             AND ($4 IS NULL OR id > $4) ORDER BY id LIMIT $5"
        ))
        .bind(tenant.map(str::to_string))
        .bind(search)
        .bind(active)
        .bind(q.cursor.clone())
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(webhook_from).collect()
    }

    /// The live endpoints of `tenant` (every tenant's for None): all, active, switched off by the hub; connected
    /// apps' hidden endpoints are not counted.
    pub async fn endpoint_counts(&self, tenant: Option<&str>) -> DbResult<EndpointCounts> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS total, CAST(COALESCE(SUM(is_active), 0) AS BIGINT) AS active, \
             CAST(COALESCE(SUM(CASE WHEN disabled_reason IS NOT NULL THEN 1 ELSE 0 END), 0) AS BIGINT) AS auto_disabled \
             FROM webhooks WHERE deleted_at IS NULL AND kind <> 'app' AND ($1 IS NULL OR tenant_id = $1)",
        )
        .bind(tenant.map(str::to_string))
        .fetch_one(&self.read)
        .await?;
        Ok(EndpointCounts {
            total: row.try_get("total")?,
            active: row.try_get("active")?,
            auto_disabled: row.try_get("auto_disabled")?,
        })
    }

    /// Every active endpoint of a tenant: the routing index is built from this.
    pub async fn active_webhooks(&self, tenant: &str) -> DbResult<Vec<Webhook>> {
        self.tenant_webhooks(tenant, "AND is_active = 1").await
    }

    /// Every endpoint of a tenant that is not deleted, switched on or off (what its quotas count).
    pub async fn live_webhooks(&self, tenant: &str) -> DbResult<Vec<Webhook>> {
        self.tenant_webhooks(tenant, "").await
    }

    async fn tenant_webhooks(&self, tenant: &str, and: &str) -> DbResult<Vec<Webhook>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLS} FROM webhooks WHERE tenant_id = $1 {and} AND deleted_at IS NULL ORDER BY id"
        ))
        .bind(tenant)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(webhook_from).collect()
    }

    pub async fn update_webhook(&self, w: &Webhook) -> DbResult<()> {
        let set: Vec<String> = EDITABLE.iter().enumerate().map(|(i, c)| format!("{c} = ${}", i + 1)).collect();
        let n = EDITABLE.len();
        let sql = format!("UPDATE webhooks SET {}, updated_at = ${} WHERE id = ${}", set.join(", "), n + 1, n + 2);
        bind_editable(sqlx::query(&sql), w).bind(w.updated_at).bind(&w.id).execute(&self.write).await?;
        Ok(())
    }

    /// One endpoint's id and sealed signing secret (None: nothing is sealed yet), to check at start that the
    /// master key opens what the database holds.
    pub async fn a_sealed_secret(&self) -> DbResult<Option<(String, String)>> {
        let row = sqlx::query("SELECT id, secret_sealed FROM webhooks LIMIT 1").fetch_optional(&self.read).await?;
        row.map(|r| Ok((r.try_get("id")?, r.try_get("secret_sealed")?))).transpose()
    }

    /// Every endpoint's (even deleted ones') sealed values, for re-sealing them in the current format at start.
    pub async fn sealed_rows(&self) -> DbResult<Vec<SealedRow>> {
        let rows = sqlx::query("SELECT id, secret_sealed, previous_secret_sealed, headers FROM webhooks ORDER BY id")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(SealedRow {
                    id: r.try_get("id")?,
                    current: r.try_get("secret_sealed")?,
                    previous: r.try_get("previous_secret_sealed")?,
                    headers: r.try_get("headers")?,
                })
            })
            .collect()
    }

    /// Re-seals an endpoint's signing secret (see [`Store::reseal`]).
    pub async fn reseal_secret(&self, id: &str, old: &str, new: &str) -> DbResult<bool> {
        self.reseal(id, "secret_sealed", old, new).await
    }

    /// Re-seals an endpoint's previous signing secret (see [`Store::reseal`]).
    pub async fn reseal_previous_secret(&self, id: &str, old: &str, new: &str) -> DbResult<bool> {
        self.reseal(id, "previous_secret_sealed", old, new).await
    }

    /// Re-seals an endpoint's header values (see [`Store::reseal`]).
    pub async fn reseal_headers(&self, id: &str, old: &str, new: &str) -> DbResult<bool> {
        self.reseal(id, "headers", old, new).await
    }

    /// Replaces one sealed column of an endpoint, only if it still holds `old` (another instance, or a rotation,
    /// may have written it meanwhile: theirs stands). Leaves `updated_at` alone: nothing the user set changed.
    async fn reseal(&self, id: &str, column: &'static str, old: &str, new: &str) -> DbResult<bool> {
        let done = sqlx::query(&format!("UPDATE webhooks SET {column} = $2 WHERE id = $1 AND {column} = $3"))
            .bind(id)
            .bind(new)
            .bind(old)
            .execute(&self.write)
            .await?
            .rows_affected();
        Ok(done > 0)
    }

    pub async fn webhook_secrets(&self, id: &str) -> DbResult<Option<SealedSecrets>> {
        let row = sqlx::query(
            "SELECT secret_sealed, previous_secret_sealed, previous_secret_expires_at FROM webhooks WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?;
        row.map(|r| {
            Ok(SealedSecrets {
                webhook_id: id.to_string(),
                current: r.try_get("secret_sealed")?,
                previous: r.try_get("previous_secret_sealed")?,
                previous_expires_at: r.try_get("previous_secret_expires_at")?,
            })
        })
        .transpose()
    }

    pub async fn set_webhook_secrets(&self, id: &str, s: &SealedSecrets) -> DbResult<()> {
        sqlx::query(
            "UPDATE webhooks SET secret_sealed = $2, previous_secret_sealed = $3, previous_secret_expires_at = $4, \
             updated_at = $5 WHERE id = $1",
        )
        .bind(id)
        .bind(&s.current)
        .bind(s.previous.clone())
        .bind(s.previous_expires_at)
        .bind(now_ms())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Soft-deletes the endpoint and cancels its queued deliveries, in one transaction.
    pub async fn delete_webhook(&self, id: &str) -> DbResult<u64> {
        self.write_out_all().await?;
        let now = now_ms();
        let mut tx = self.write.begin().await?;
        sqlx::query("UPDATE webhooks SET deleted_at = $2, is_active = 0, updated_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        // The endpoint's queued rows are found through the queue (on SQLite its own index holds attempted rows only).
        let queue = self.dialect.queue_table();
        super::maintenance::rollup_cancelled(
            &mut tx,
            queue,
            "webhook_id = $1 AND status IN ('pending', 'retrying')",
            id,
        )
        .await?;
        let cancelled = sqlx::query(&format!(
            "UPDATE {queue} SET status = 'cancelled', next_attempt_at = NULL, updated_at = $2, \
             last_error = 'endpoint deleted' WHERE webhook_id = $1 AND status IN ('pending', 'retrying')",
        ))
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        // Paused deliveries (the endpoint was switched off) left the queue: their own partial index finds them.
        super::maintenance::rollup_cancelled(&mut tx, "deliveries", "webhook_id = $1 AND status = 'paused'", id)
            .await?;
        let paused = sqlx::query(
            "UPDATE deliveries SET status = 'cancelled', next_attempt_at = NULL, updated_at = $2, \
             last_error = 'endpoint deleted' WHERE webhook_id = $1 AND status = 'paused'",
        )
        .bind(id)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(cancelled + paused)
    }

    /// An endpoint (even a deleted or disabled one) with its sealed secrets, for sending; it reads as switched
    /// off while its tenant is suspended.
    pub async fn webhook_for_send(&self, id: &str) -> DbResult<Option<(Webhook, SealedSecrets, bool)>> {
        let Some(row) = sqlx::query(
            "SELECT w.deleted_at, t.suspended_at FROM webhooks w JOIN tenants t ON t.id = w.tenant_id WHERE w.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.read)
        .await?
        else {
            return Ok(None);
        };
        let deleted = row.try_get::<Option<i64>, _>("deleted_at")?.is_some();
        let w =
            sqlx::query(&format!("SELECT {} FROM webhooks WHERE id = $1", COLS)).bind(id).fetch_one(&self.read).await?;
        let mut w = webhook_from(&w)?;
        // A suspended tenant's endpoints send nothing: to the worker they are switched off, so their deliveries
        // wait as `paused` (see `Store::pause`) and go when the tenant is resumed.
        w.is_active &= row.try_get::<Option<i64>, _>("suspended_at")?.is_none();
        let secrets = self.webhook_secrets(id).await?.ok_or(sqlx::Error::RowNotFound)?;
        Ok(Some((w, secrets, deleted)))
    }
}

/// What [`Store::remove_recipient`] did to a live endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipientRemoval {
    pub tenant_id: String,
    /// The endpoint's name, for the page that confirms it.
    pub name: String,
    /// False when the address was not among the recipients (any more).
    pub removed: bool,
    /// The last recipient left and the endpoint, active until then, is now switched off.
    pub disabled: bool,
}

impl Store {
    /// Removes `address` (any case) from a live endpoint's recipients; when none remain, the endpoint is switched
    /// off with `reason`. None: no such endpoint, or it is deleted.
    ///
    /// The recipients live in the `destination` JSON, which neither engine edits the same way, so the row is read,
    /// changed here and written back only if `destination` still holds what was read (compare and swap): an edit
    /// or another unsubscribe in between makes the write miss, and it is done again from a fresh read.
    pub async fn remove_recipient(
        &self,
        webhook_id: &str,
        address: &str,
        reason: &str,
    ) -> DbResult<Option<RecipientRemoval>> {
        const TRIES: usize = 5;
        for _ in 0..TRIES {
            let Some(row) = sqlx::query(
                "SELECT tenant_id, name, destination, is_active FROM webhooks WHERE id = $1 AND deleted_at IS NULL",
            )
            .bind(webhook_id)
            .fetch_optional(&self.write)
            .await?
            else {
                return Ok(None);
            };
            let old: String = row.try_get("destination")?;
            let was_active = row.try_get::<i64, _>("is_active")? != 0;
            let mut removal = RecipientRemoval {
                tenant_id: row.try_get("tenant_id")?,
                name: row.try_get("name")?,
                removed: false,
                disabled: false,
            };
            // As a JSON value, so whatever else the column holds (the message template) is written back as it was.
            let mut destination: serde_json::Value = serde_json::from_str(&old).unwrap_or_default();
            let Some(list) = destination.get_mut("recipients").and_then(serde_json::Value::as_array_mut) else {
                return Ok(Some(removal));
            };
            let before = list.len();
            list.retain(|r| !r.as_str().is_some_and(|r| r.eq_ignore_ascii_case(address)));
            if list.len() == before {
                return Ok(Some(removal));
            }
            let empty = list.is_empty();
            if empty {
                // As `Destination` writes it: no key for no recipients.
                if let Some(fields) = destination.as_object_mut() {
                    fields.remove("recipients");
                }
            }
            let sql = if empty {
                "UPDATE webhooks SET destination = $2, updated_at = $3, is_active = 0, disabled_reason = $5 \
                 WHERE id = $1 AND destination = $4 AND deleted_at IS NULL"
            } else {
                "UPDATE webhooks SET destination = $2, updated_at = $3 \
                 WHERE id = $1 AND destination = $4 AND deleted_at IS NULL"
            };
            let mut q = sqlx::query(sql).bind(webhook_id).bind(destination.to_string()).bind(now_ms()).bind(&old);
            if empty {
                q = q.bind(reason);
            }
            if q.execute(&self.write).await?.rows_affected() > 0 {
                removal.removed = true;
                removal.disabled = empty && was_active;
                return Ok(Some(removal));
            }
        }
        Err(sqlx::Error::Protocol(format!("endpoint {webhook_id} kept changing while a recipient was being removed")))
    }
}
