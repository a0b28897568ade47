-- Key columns compare as bytes (COLLATE "C"): ids, tenant ids, event types and statuses are ASCII, and the
-- database's default collation (en_US.UTF-8, C.UTF-8, …) sent every index comparison through strcoll, a large
-- share of the server's CPU when publishing and recording deliveries. Byte order is also SQLite's order, so
-- keyset pages and sorted lists come out the same on both engines. Changing a column's collation rebuilds the
-- indexes that use it; the tables themselves are not rewritten.
ALTER TABLE tenants ALTER COLUMN id TYPE TEXT COLLATE "C";
ALTER TABLE webhooks ALTER COLUMN id TYPE TEXT COLLATE "C", ALTER COLUMN tenant_id TYPE TEXT COLLATE "C";
ALTER TABLE events
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN event_type TYPE TEXT COLLATE "C";
ALTER TABLE idempotency_keys ALTER COLUMN tenant_id TYPE TEXT COLLATE "C", ALTER COLUMN key TYPE TEXT COLLATE "C";
ALTER TABLE deliveries
    ALTER COLUMN id TYPE TEXT COLLATE "C",
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN event_id TYPE TEXT COLLATE "C",
    ALTER COLUMN webhook_id TYPE TEXT COLLATE "C",
    ALTER COLUMN event_type TYPE TEXT COLLATE "C",
    ALTER COLUMN status TYPE TEXT COLLATE "C";
ALTER TABLE delivery_attempts ALTER COLUMN id TYPE TEXT COLLATE "C", ALTER COLUMN delivery_id TYPE TEXT COLLATE "C";
ALTER TABLE delivery_rollups
    ALTER COLUMN webhook_id TYPE TEXT COLLATE "C",
    ALTER COLUMN tenant_id TYPE TEXT COLLATE "C",
    ALTER COLUMN status TYPE TEXT COLLATE "C";
