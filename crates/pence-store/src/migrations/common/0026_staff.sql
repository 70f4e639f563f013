-- The admin tool: staff users, their role on each service, one-time sign-in links, sessions
-- (stored by the hash of the cookie's token) and the audit log.
CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    totp_secret TEXT,
    totp_confirmed BOOLEAN NOT NULL DEFAULT FALSE,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    locked_until_ms BIGINT NOT NULL DEFAULT 0,
    created_ms BIGINT NOT NULL
);
CREATE TABLE user_roles (
    user_id TEXT NOT NULL,
    service_id TEXT NOT NULL,
    role TEXT NOT NULL,
    PRIMARY KEY (user_id, service_id)
);
CREATE TABLE user_links (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    expires_ms BIGINT NOT NULL,
    used_ms BIGINT
);
CREATE TABLE staff_sessions (
    id_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL,
    two_factor_ms BIGINT
);
CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    service_id TEXT,
    action TEXT NOT NULL,
    detail TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log (created_ms);
CREATE INDEX audit_log_by_service ON audit_log (service_id, created_ms);
