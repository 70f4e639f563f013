-- Payment links (GOV.UK Pay's products) and the payments they took. A deleted link keeps its
-- row (its payments still name it) but frees its address.
CREATE TABLE payment_links (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    title TEXT NOT NULL,
    details TEXT NOT NULL,
    amount BIGINT,
    amount_hint TEXT,
    reference_label TEXT,
    reference_hint TEXT,
    language TEXT NOT NULL,
    metadata TEXT NOT NULL,
    service_path TEXT NOT NULL,
    link_path TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL,
    deleted_ms BIGINT
);
CREATE UNIQUE INDEX payment_links_by_address ON payment_links (service_path, link_path)
    WHERE deleted_ms IS NULL;
CREATE INDEX payment_links_by_service ON payment_links (service_id, created_ms);
CREATE TABLE link_payments (
    id TEXT PRIMARY KEY,
    link_id TEXT NOT NULL,
    payment_id TEXT NOT NULL UNIQUE,
    service_id TEXT NOT NULL,
    generated_reference TEXT,
    created_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX link_payments_by_reference ON link_payments (service_id, generated_reference);
CREATE INDEX link_payments_by_link ON link_payments (link_id, created_ms);
