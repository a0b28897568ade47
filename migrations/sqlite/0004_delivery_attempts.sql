-- Every attempt of every delivery, as sent and as answered.
CREATE TABLE delivery_attempts (
    id                TEXT PRIMARY KEY,
    delivery_id       TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    attempt           BIGINT NOT NULL,
    request_headers   TEXT NOT NULL,
    request_body      TEXT NOT NULL,
    response_status   BIGINT,
    response_headers  TEXT,
    response_body     TEXT,
    response_truncated BIGINT NOT NULL DEFAULT 0,
    duration_ms       BIGINT NOT NULL,
    error_kind        TEXT,
    error             TEXT,
    next_retry_at     BIGINT,
    created_at        BIGINT NOT NULL
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts(delivery_id, attempt);
