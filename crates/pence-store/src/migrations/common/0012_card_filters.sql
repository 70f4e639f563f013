-- Searches by card brand, first six or last four digits (reference §12) find their rows and
-- count them from these indexes instead of reading every payment of the service. Partial:
-- a payment gets its card in the journey, so creating one adds no entry here.
CREATE INDEX payments_by_service_brand ON payments (service_id, card_brand, created_ms DESC, id DESC)
    WHERE card_brand IS NOT NULL;
CREATE INDEX payments_by_service_first_digits ON payments (service_id, first_digits, created_ms DESC, id DESC)
    WHERE first_digits IS NOT NULL;
CREATE INDEX payments_by_service_last_digits ON payments (service_id, last_digits, created_ms DESC, id DESC)
    WHERE last_digits IS NOT NULL;
