DROP TRIGGER IF EXISTS document_containers_owned_insert ON document_containers;
DROP TRIGGER IF EXISTS ownership_owned_update ON ownership;
DROP TRIGGER IF EXISTS ownership_owned_insert ON ownership;
DROP FUNCTION IF EXISTS notify_owned_container();
