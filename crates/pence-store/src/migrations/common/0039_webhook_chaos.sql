-- A test subscription's seeded chaos (JSON: the shares of messages each fault happens to,
-- and the seed), and what the delivery faults did to each attempt, for the delivery report.
ALTER TABLE webhook_delivery_faults ADD COLUMN chaos TEXT;
ALTER TABLE webhook_attempts ADD COLUMN fault TEXT;
