-- greenpark store, schema version 4: accounts and access of `greenpark serve` (issue 6).
-- Users with a role, API tokens, browser sessions, the audit log of every write, and the
-- resolutions of quarantined rows fixed or re-submitted through the API. Secrets are never
-- stored: passwords as argon2id hashes (PHC strings), tokens and session ids as sha256 hashes.

CREATE TABLE users (
    user_id BIGINT PRIMARY KEY,
    username VARCHAR NOT NULL,
    role VARCHAR NOT NULL,                   -- park_admin | enterprise | auditor | device
    enterprise_id VARCHAR,                   -- the one enterprise an `enterprise` user sees
    meters VARCHAR,                          -- JSON list of meter ids a `device` may push for; NULL = every meter
    password_hash VARCHAR,                   -- argon2id PHC string; NULL = no password (API tokens only)
    created_at TIMESTAMPTZ NOT NULL,
    created_by VARCHAR NOT NULL,
    revoked_at TIMESTAMPTZ                   -- a revoked user cannot log in; its tokens and sessions stop working
);

CREATE TABLE api_tokens (
    token_id BIGINT PRIMARY KEY,
    user_id BIGINT NOT NULL,
    name VARCHAR NOT NULL,
    token_hash VARCHAR NOT NULL,             -- sha256 hex of the token; the token itself is shown once
    prefix VARCHAR NOT NULL,                 -- the token's first characters, to recognise it in lists
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ
);

CREATE TABLE sessions (
    session_hash VARCHAR PRIMARY KEY,        -- sha256 hex of the session cookie
    user_id BIGINT NOT NULL,
    csrf_token VARCHAR NOT NULL,             -- must come back in X-CSRF-Token on every write of the session
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);

-- every write: who, when, what, and the state before and after (JSON text, portable to every engine)
CREATE TABLE audit_log (
    audit_id BIGINT PRIMARY KEY,
    occurred_at TIMESTAMPTZ NOT NULL,
    user_id BIGINT,
    username VARCHAR NOT NULL,               -- 'cli:<os user>' for CLI commands
    role VARCHAR,
    action VARCHAR NOT NULL,                 -- readings.push, quarantine.fix, user.add, token.revoke, ...
    target VARCHAR,                          -- what the action applied to (user, token, import, quarantine row)
    enterprise_id VARCHAR,                   -- the enterprise the write concerned, when one did
    import_id BIGINT,                        -- the import the write made, when it made one
    before_state VARCHAR,                    -- JSON
    after_state VARCHAR,                     -- JSON
    remote VARCHAR                           -- client address
);

-- a quarantined row fixed or re-submitted: its fate is now in import resolved_by_import
CREATE TABLE quarantine_resolutions (
    import_id BIGINT NOT NULL,
    line_no BIGINT NOT NULL,
    resolved_by_import BIGINT NOT NULL,
    resolved_at TIMESTAMPTZ NOT NULL,
    action VARCHAR NOT NULL,                 -- fix | resubmit
    audit_id BIGINT NOT NULL
);
