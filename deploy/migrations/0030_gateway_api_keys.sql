-- gateway.*: API keys of the REST gateway (services/gateway).
--
-- A key is shown once, when it is created ("mlk_<id>_<secret>"); only the SHA-256 of the whole key is kept,
-- so a leaked table does not leak keys. Keys are random (160 bits of secret), so an unsalted hash is safe
-- and lets the gateway look a key up by its hash in one indexed read. Revoking keeps the row (audit).
CREATE SCHEMA gateway;

CREATE TABLE gateway.api_keys (
  id                    text PRIMARY KEY,                 -- public, appears in logs and metrics
  name                  text NOT NULL,                    -- who or what uses it
  key_sha256            text NOT NULL UNIQUE              -- lowercase hex SHA-256 of the whole key
                          CHECK (key_sha256 ~ '^[0-9a-f]{64}$'),
  scopes                text[] NOT NULL                   -- read < write < admin (each implies the ones before)
                          CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'write', 'admin']),
  rate_limit_per_second integer NOT NULL DEFAULT 0        -- 0: the gateway's --rate_limit_per_second
                          CHECK (rate_limit_per_second >= 0),
  created_at            timestamptz NOT NULL DEFAULT now(),
  revoked_at            timestamptz,
  last_used_at          timestamptz                       -- updated at most once a minute per key
);

CREATE INDEX api_keys_active_idx ON gateway.api_keys (created_at) WHERE revoked_at IS NULL;
