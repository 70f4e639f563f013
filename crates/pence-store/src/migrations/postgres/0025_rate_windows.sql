-- Rate-limit windows shared by every node on this database (GOV.UK Pay counts per account
-- across its instances). UNLOGGED: counts need no durability, and their commits then wait
-- for no WAL flush.
CREATE UNLOGGED TABLE rate_windows (
    key TEXT NOT NULL,
    bucket TEXT NOT NULL,
    second BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (key, bucket, second)
);
