-- The hot tables' foreign keys go: PostgreSQL checks one with a trigger that runs a query per inserted row, which
-- was a sixth of the server's CPU when publishing (a delivery row per endpoint) and recording attempts. Nothing
-- relied on them: a delivery is written in the same statement as its event, an attempt in the same transaction
-- as its delivery's update, and pruning deletes attempts, then deliveries, then events no delivery refers to.
-- (SQLite keeps them: there the check is an index probe in the writer's page cache, and dropping one means
-- rebuilding the table.)
ALTER TABLE deliveries DROP CONSTRAINT IF EXISTS deliveries_event_id_fkey;
ALTER TABLE delivery_attempts DROP CONSTRAINT IF EXISTS delivery_attempts_delivery_id_fkey;
