-- Snapshots of test services (issue 31): a service's state kept under a name, as the JSON of
-- its tables' rows (secrets sealed as in their own tables), with its row counts to list.
CREATE TABLE snapshots (
    service_id TEXT NOT NULL,
    name TEXT NOT NULL,
    saved_ms BIGINT NOT NULL,
    rows_by_table TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (service_id, name)
);
-- Raised by every restore and reset: a search count a node took of the service before is of
-- another state (frozen.rs), and a version a writer read before is of another row.
ALTER TABLE services ADD COLUMN state_generation BIGINT NOT NULL DEFAULT 0;
ALTER TABLE search_counts ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
