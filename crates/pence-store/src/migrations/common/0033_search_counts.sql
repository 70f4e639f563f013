-- Search totals over frozen payments, kept so a restarted node (or another node on the same
-- database) does not count every match of a broad search again (store/frozen.rs). `key` is
-- an HMAC of the search (its WHERE clause and values) under the instance secret
-- `search_counts`, so no filter text is stored; `n` payments frozen in batches up to `seq`
-- match it. `kept_ms` lets old entries go.
CREATE TABLE search_counts (
    key TEXT PRIMARY KEY,
    n BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    kept_ms BIGINT NOT NULL
);
CREATE INDEX search_counts_by_age ON search_counts (kept_ms);
