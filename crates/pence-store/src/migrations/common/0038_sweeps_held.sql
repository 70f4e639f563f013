-- While a test service's fixture is being loaded, its timeline is run by the fixture itself
-- (capture, disputes, expiry at the simulated times): the nodes' sweeps leave the service
-- alone until this time (epoch ms, the machines' clock), so none of its steps is taken at
-- the wrong time.
ALTER TABLE services ADD COLUMN sweeps_held_until_ms BIGINT;
