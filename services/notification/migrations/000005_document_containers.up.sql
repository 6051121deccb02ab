-- Which containers travel under which transport document (and for which tenant), from
-- scheduling's shipment and booking events: a subscription to a transport document then
-- receives its containers' tracking events, which name the container only.
CREATE TABLE document_containers (
    tenant_id text NOT NULL,
    container text NOT NULL,
    document  text NOT NULL,
    PRIMARY KEY (tenant_id, container, document)
);
