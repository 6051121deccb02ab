DROP TABLE document_containers;
