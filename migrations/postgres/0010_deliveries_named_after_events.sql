-- A delivery made when its event is published is named after it (`dlv_<event ULID>_<n>`), so an event's
-- deliveries are a range of the primary key and publishing no longer writes an index entry per delivery by
-- event. The index keeps only the rows whose id does not name their event: replays, and older rows.
DROP INDEX deliveries_event;
CREATE INDEX deliveries_event ON deliveries(event_id) WHERE substr(id, 5, 26) <> substr(event_id, 5, 26);
