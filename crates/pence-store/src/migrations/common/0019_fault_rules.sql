-- Test services' fault rules (the control API, issue 15; pence-core/src/faults.rs).
CREATE TABLE fault_rules (
    id TEXT PRIMARY KEY,
    service_id TEXT NOT NULL,
    method TEXT,
    path TEXT,
    -- Firings left (NULL: no limit) and matches so far (the seeded fraction's draw number).
    remaining BIGINT,
    fraction_ppm BIGINT,
    seed BIGINT NOT NULL,
    matched BIGINT NOT NULL DEFAULT 0,
    -- answer | delay | drop | provider, with the fields each takes.
    action TEXT NOT NULL,
    status INTEGER,
    code TEXT,
    description TEXT,
    delay_ms BIGINT,
    provider TEXT,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX fault_rules_by_service ON fault_rules (service_id, created_ms);
