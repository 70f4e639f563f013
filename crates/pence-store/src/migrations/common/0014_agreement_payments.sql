-- A payment's agreement: the one it sets up (set_up_agreement) or is taken under, and the
-- kind of payment it is for that agreement.
ALTER TABLE payments ADD COLUMN agreement_payment_type TEXT;
