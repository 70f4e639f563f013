-- Sign-in guesses counted per email and source (the client's address), not per user, so an
-- email without an account is refused and locked exactly as one with an account, and a
-- stranger's guesses lock only their own source (usecases/staff.rs). `key` is the SHA-256
-- of the two. A guess is counted before it is checked, in one conditional write.
CREATE TABLE sign_in_attempts (
    key TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    locked_until_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX sign_in_attempts_by_age ON sign_in_attempts (updated_ms);
-- The time step of the last authenticator code used: a code signs in once.
ALTER TABLE users ADD COLUMN totp_step BIGINT NOT NULL DEFAULT 0;
