-- foreign_keys: off
-- Delivery: Amazon SES relays, relay quotas and warm-up, DKIM keys, the
-- counters rate limits keep across restarts, and why a campaign waits.

-- SQLite cannot change a CHECK constraint in place, so relays is rebuilt
-- with foreign keys off (the runner turns them off for this migration and
-- checks them before it commits), keeping every id.
CREATE TABLE relays_new (
    id                INTEGER PRIMARY KEY,
    name              TEXT NOT NULL COLLATE NOCASE UNIQUE,
    kind              TEXT NOT NULL CHECK (kind IN ('smtp', 'ses')),
    -- SMTP only.
    host              TEXT NOT NULL DEFAULT '',
    port              INTEGER NOT NULL DEFAULT 0 CHECK (port BETWEEN 0 AND 65535),
    tls               TEXT NOT NULL DEFAULT 'none' CHECK (tls IN ('none', 'starttls', 'tls')),
    -- The SMTP username, or the SES access key id.
    username          TEXT NOT NULL DEFAULT '',
    -- The SMTP password, or the SES secret access key, sealed.
    password_enc      BLOB,
    -- SES only; endpoint overrides the region's URL for SES-compatible services.
    region            TEXT NOT NULL DEFAULT '',
    configuration_set TEXT NOT NULL DEFAULT '',
    endpoint          TEXT NOT NULL DEFAULT '',
    max_connections   INTEGER NOT NULL CHECK (max_connections >= 1),
    rate_per_second   REAL NOT NULL CHECK (rate_per_second >= 0),
    -- Messages per day, 0 for no limit.
    daily_quota       INTEGER NOT NULL DEFAULT 0 CHECK (daily_quota >= 0),
    -- Warm-up: from warmup_from, a daily cap that starts at warmup_start and
    -- grows over warmup_days days; 0 days is no warm-up.
    warmup_days       INTEGER NOT NULL DEFAULT 0 CHECK (warmup_days >= 0),
    warmup_start      INTEGER NOT NULL DEFAULT 0 CHECK (warmup_start >= 0),
    warmup_from       INTEGER,
    enabled           INTEGER NOT NULL DEFAULT 1,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);
INSERT INTO relays_new (id, name, kind, host, port, tls, username, password_enc, max_connections, rate_per_second, enabled, created_at, updated_at)
SELECT id, name, kind, host, port, tls, username, password_enc, max_connections, rate_per_second, enabled, created_at, updated_at FROM relays;
DROP TABLE relays;
ALTER TABLE relays_new RENAME TO relays;

-- DKIM signing keys, one per domain and selector; the private key sealed.
CREATE TABLE dkim_keys (
    id          INTEGER PRIMARY KEY,
    domain      TEXT NOT NULL COLLATE NOCASE,
    selector    TEXT NOT NULL COLLATE NOCASE,
    algorithm   TEXT NOT NULL CHECK (algorithm IN ('rsa', 'ed25519')),
    private_enc BLOB NOT NULL,
    -- The TXT record to publish at selector._domainkey.domain.
    dns_value   TEXT NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    UNIQUE (domain, selector)
);

-- Messages sent per window: per relay per day ('relay:3'), per limited
-- recipient domain per hour ('domain:gmail.com').
CREATE TABLE usage_counters (
    scope        TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    PRIMARY KEY (scope, window_start)
) WITHOUT ROWID;

-- Why a sending campaign is waiting (a quota reached) and until when, and
-- why it paused itself; its hard bounces and complaints, for that check.
ALTER TABLE campaigns ADD COLUMN held_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN held_until INTEGER;
ALTER TABLE campaigns ADD COLUMN paused_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE campaigns ADD COLUMN bounces INTEGER NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN complaints INTEGER NOT NULL DEFAULT 0;
