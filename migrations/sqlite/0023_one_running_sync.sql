-- One "Sync now" run at a time per connection, kept by the database itself: two instances on one PostgreSQL
-- database asking at the same moment cannot both start one (the second insert is refused and answered 409).
-- Event rows (one per delivery) are not runs and stay out of it. Older duplicates, if any, are interrupted first.
UPDATE app_sync_logs SET status = 'interrupted'
WHERE status = 'running' AND kind <> 'event' AND EXISTS (
    SELECT 1 FROM app_sync_logs o
    WHERE o.connection_id = app_sync_logs.connection_id AND o.status = 'running' AND o.kind <> 'event'
      AND (o.started_at > app_sync_logs.started_at OR (o.started_at = app_sync_logs.started_at AND o.id > app_sync_logs.id))
);
CREATE UNIQUE INDEX app_sync_logs_one_running ON app_sync_logs(connection_id) WHERE status = 'running' AND kind <> 'event';
