-- A delivery behind a pending one of its lane is blocked: it cannot be sent before that one is
-- done. The dispatcher's due index leaves blocked deliveries out, so a claim walks only the
-- deliveries that can go (lane heads), in the order it takes them, and stops after those it
-- takes, however long the lanes behind them. A delivery is blocked when it is inserted behind
-- a pending one, and unblocked when the one ahead of it is done (succeeded, dead or
-- cancelled), by a periodic sweep for any the dispatcher missed, and when re-queued. blocked
-- is only a hint: a claim still checks that a delivery heads its lane.
ALTER TABLE deliveries ADD COLUMN blocked boolean NOT NULL DEFAULT false;

DROP INDEX deliveries_due_idx;
CREATE INDEX deliveries_due_idx ON deliveries (next_attempt_at, seq) WHERE status = 'pending' AND NOT blocked;

-- A tenant's bookings of a container: the keys a container event is matched on besides the
-- container (found per owner of each container of a batch), without reading every booking
-- of the tenant.
CREATE INDEX ownership_booking_container_idx ON ownership (tenant_id, container) WHERE kind = 'booking';
