-- Delivery workers announce themselves (store/queue/workers.rs) so that an endpoint's rate limit is shared among
-- the instances working the queue: each sends its share of the limit.
CREATE TABLE worker_instances (
    id      TEXT PRIMARY KEY,
    seen_at BIGINT NOT NULL
);
