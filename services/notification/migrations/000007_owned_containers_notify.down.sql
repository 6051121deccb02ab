DROP TRIGGER IF EXISTS ownership_container_notify ON ownership;
DROP FUNCTION IF EXISTS notify_owned_container();
