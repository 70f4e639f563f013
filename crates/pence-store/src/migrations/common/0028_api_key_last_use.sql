-- When each API key was last used (to the minute): the admin tool lists it.
ALTER TABLE api_keys ADD COLUMN last_used_ms BIGINT;
