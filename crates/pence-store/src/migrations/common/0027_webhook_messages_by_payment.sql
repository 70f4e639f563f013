-- The admin tool's payment page lists the payment's webhook messages.
CREATE INDEX webhook_messages_by_payment ON webhook_messages (payment_id, created_ms);
