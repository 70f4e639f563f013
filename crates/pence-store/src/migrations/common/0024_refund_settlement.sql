-- The sandbox now pays out successful refunds a day after they succeed (as it does payments
-- after capture), so the refund search's settled-date filters and reconciliation find them.
-- This index holds exactly the refunds still to pay out (`unsettled_refunds`).
CREATE INDEX refunds_to_settle ON refunds (updated_ms) WHERE status = 'success' AND settled_ms IS NULL;
