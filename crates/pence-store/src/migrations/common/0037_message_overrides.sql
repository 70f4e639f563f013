-- A message a test service triggered with some of its fields overridden says which (the
-- delivery log shows it), so nobody takes it for what the payment really was.
ALTER TABLE webhook_messages ADD COLUMN overrides TEXT;
