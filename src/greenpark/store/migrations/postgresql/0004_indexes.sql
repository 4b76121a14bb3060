-- PostgreSQL only, applied after 0004_accounts.sql.
CREATE INDEX api_tokens_hash ON api_tokens (token_hash);
CREATE INDEX audit_log_time ON audit_log (occurred_at);
