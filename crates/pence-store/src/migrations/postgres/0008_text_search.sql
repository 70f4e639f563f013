-- Search payments matches reference, email and cardholder name anywhere in the text
-- (case-insensitive LIKE '%x%'), which no B-tree index can serve: trigram GIN indexes can,
-- for any fragment of 3+ characters. pg_trgm ships with PostgreSQL (contrib) and is a
-- trusted extension, so the database's owner may create it. It lives in `public` whatever
-- schema Pence's tables are in (several deployments, or test runs, may share a database).
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
CREATE INDEX payments_reference_trgm ON payments
    USING gin (LOWER(reference) public.gin_trgm_ops);
CREATE INDEX payments_email_trgm ON payments USING gin (LOWER(email) public.gin_trgm_ops);
CREATE INDEX payments_cardholder_trgm ON payments
    USING gin (LOWER(cardholder_name) public.gin_trgm_ops);
