-- The history's primary key leads with the time the event happened, not its (random) id: new
-- events, which happen about now, go to the right-hand end of the index instead of to a random
-- page of it, so a batch dirties a few pages of it rather than one per event.
-- BenchmarkRecord (batches of 1,000): 17.0 -> 15.3 µs per event. Uniqueness is the same
-- ((occurred_at, event_id) is (event_id, occurred_at)); ids are unique on their own in
-- event_ids. Nothing looks events up by id alone.
--
-- It rebuilds the key of every partition under an exclusive lock: on a large history, run it
-- in a quiet hour (tracking's projector waits; ingest does not, it only publishes).
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ADD PRIMARY KEY (occurred_at, event_id);
