-- Searches list newest first with the id as tie-break (ORDER BY created_ms DESC, id DESC):
-- with the id in the index, a page is read straight off it, at either end, instead of
-- sorting every match; with the status in it too, state + date searches and their counts
-- never visit the table.
DROP INDEX payments_by_service_created;
CREATE INDEX payments_by_service_created ON payments (service_id, created_ms DESC, id DESC, status);
DROP INDEX refunds_by_service_created;
CREATE INDEX refunds_by_service_created ON refunds (service_id, created_ms DESC, id DESC);
DROP INDEX disputes_by_service_created;
CREATE INDEX disputes_by_service_created ON disputes (service_id, created_ms DESC, id DESC);
