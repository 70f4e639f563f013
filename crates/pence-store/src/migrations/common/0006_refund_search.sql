-- Search refunds: a service's refunds newest first, and the paid-out date filters (the
-- sandbox never pays refunds out, as GOV.UK Pay's only does on Stripe, so it stays NULL).
CREATE INDEX refunds_by_service_created ON refunds (service_id, created_ms);
ALTER TABLE refunds ADD COLUMN settled_ms BIGINT;
