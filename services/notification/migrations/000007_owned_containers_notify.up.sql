-- Each notification process keeps the set of owned containers in memory, with the owners (and
-- their bookings and transport documents) of the containers it matched lately, so that the
-- tracking consumer asks PostgreSQL nothing for containers nobody owns (most container events)
-- and, for an owned one, only after its owners changed (pgstore.OwnedSet). Every change of a
-- container's owners or references is announced, at commit, on owned_<schema> (cut to 63
-- bytes) with the container number as payload: a new owner (a container row), a booking of the
-- container (a booking row, or one that learns its container), a transport document it travels
-- under. Triggers rather than the application, so that every writer (a replica, a restore, an
-- operator's fix) keeps every process's set whole. An Own that changes nothing (an update of
-- updated_at only) announces nothing. Ownership is never taken away.
CREATE FUNCTION notify_owned_container() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    box text;
BEGIN
    box := NEW.container;
    IF TG_TABLE_NAME = 'ownership' THEN
        IF NEW.kind = 'container' THEN
            box := NEW.value;
        END IF;
    END IF;
    IF box <> '' THEN
        PERFORM pg_notify(left('owned_' || TG_TABLE_SCHEMA, 63), box);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER ownership_owned_insert
    AFTER INSERT ON ownership
    FOR EACH ROW
    EXECUTE FUNCTION notify_owned_container();

CREATE TRIGGER ownership_owned_update
    AFTER UPDATE ON ownership
    FOR EACH ROW
    WHEN (OLD.container IS DISTINCT FROM NEW.container)
    EXECUTE FUNCTION notify_owned_container();

CREATE TRIGGER document_containers_owned_insert
    AFTER INSERT ON document_containers
    FOR EACH ROW
    EXECUTE FUNCTION notify_owned_container();
