-- MOTO payments: the service may have the card number and security code masked as the
-- staff type them (GOV.UK Pay's moto_mask_card_number_input / _security_code_input).
ALTER TABLE services ADD COLUMN moto_mask_card_number BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE services ADD COLUMN moto_mask_security_code BOOLEAN NOT NULL DEFAULT FALSE;
