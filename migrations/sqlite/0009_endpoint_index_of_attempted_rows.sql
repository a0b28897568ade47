-- An endpoint's index holds only the rows that left the queue (attempted or cancelled): they enter it when the
-- worker records their first attempt, in the transaction that already rewrites the row. Publishing then adds no
-- entry per endpoint, which was a b-tree leaf per endpoint in every commit of SQLite's one writer. The endpoint's
-- pending rows are read through the queue's index (`list_deliveries`), which therefore carries the endpoint and
-- the status: a page of one endpoint's log filters the queue in the index without reading each queued row.
DROP INDEX deliveries_webhook;
CREATE INDEX deliveries_webhook ON deliveries(webhook_id, id) WHERE status <> 'pending';
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries(next_attempt_at, webhook_id, status) WHERE status IN ('pending', 'retrying');
