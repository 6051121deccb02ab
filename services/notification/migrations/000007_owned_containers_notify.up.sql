-- Each notification process keeps the set of owned containers in memory, so that the tracking
-- consumer asks PostgreSQL for owners only for containers somebody owns (most container events
-- are about containers no tenant has booked). A container's first owner is announced, at
-- commit, on owned_<schema> (cut to 63 bytes) with the container number as payload. A trigger
-- rather than the application, so that every writer (a replica, a restore, an operator's fix)
-- keeps every process's set whole. Every new container row notifies (a container's first owner,
-- and any further tenant: the same payload, harmless); an update of a row never does.
-- Ownership is never taken away, so the set only grows.
CREATE FUNCTION notify_owned_container() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(left('owned_' || TG_TABLE_SCHEMA, 63), NEW.value);
    RETURN NULL;
END
$$;

CREATE TRIGGER ownership_container_notify
    AFTER INSERT ON ownership
    FOR EACH ROW
    WHEN (NEW.kind = 'container')
    EXECUTE FUNCTION notify_owned_container();
