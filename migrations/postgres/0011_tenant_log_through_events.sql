-- A tenant's delivery log is read through its events (each event's deliveries are a key range of the primary key,
-- see 0010), so publishing no longer writes an index entry per delivery by tenant. The index keeps the rows whose
-- id does not name their event (replays, older rows).
DROP INDEX deliveries_tenant;
CREATE INDEX deliveries_tenant ON deliveries(tenant_id, id) WHERE substr(id, 5, 26) <> substr(event_id, 5, 26);
