-- What a running node tells the command line about the instance: `public_url`, the address
-- users reach the nodes at (set by `pence serve`), which `pence user` puts in its links.
CREATE TABLE instance_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
