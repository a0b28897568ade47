-- Publishing writes an event's matched endpoints as one row here instead of a delivery row per endpoint; the rows
-- are written from it later, in bulk and inside the database (`store::fanout`): by the worker that attempts them
-- (with their outcome), by a claim, or before anything reads deliveries. `endpoints` is a JSON array of endpoint
-- ids in delivery-number order (`store::delivery_id`); `lease_until` is set when the deliveries were handed to a
-- worker in memory, and the rows written from it carry that lease.
CREATE TABLE fanouts (
    event_id    TEXT PRIMARY KEY,
    endpoints   TEXT NOT NULL,
    lease_until BIGINT
) WITHOUT ROWID;
