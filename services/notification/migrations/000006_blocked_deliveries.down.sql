DROP INDEX ownership_booking_container_idx;
DROP INDEX deliveries_due_idx;
ALTER TABLE deliveries DROP COLUMN blocked;
CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at) WHERE status = 'pending';
