-- A delivery whose endpoint is switched off waits as 'paused' (out of the queue's index, so no worker claims it)
-- and goes back to the queue when the endpoint is switched on again; deleting the endpoint cancels it.
CREATE INDEX deliveries_paused ON deliveries(webhook_id) WHERE status = 'paused';
-- A replayed delivery names its (latest) replay, so recovering an endpoint's dead letters re-sends each once.
ALTER TABLE deliveries ADD COLUMN replayed_by TEXT;
