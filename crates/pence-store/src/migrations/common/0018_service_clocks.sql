-- A test service's clock, moved by the control API (issue 15): how far it is ahead of the
-- node's. Written only by `set_clock_offset`, so a settings update never puts an old value back.
ALTER TABLE services ADD COLUMN clock_offset_ms BIGINT NOT NULL DEFAULT 0;
