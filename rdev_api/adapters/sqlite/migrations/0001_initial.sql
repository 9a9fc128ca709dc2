-- The local edition's schema. Timestamps are RFC 3339 UTC text; JSON columns hold JSON text.

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,              -- the 8-character id inside rdev_<id>_<secret>
    name         TEXT NOT NULL,
    secret_hash  TEXT NOT NULL,                 -- SHA-256 of the secret; the secret is never stored
    scopes       TEXT NOT NULL,                 -- JSON list
    projects     TEXT NOT NULL,                 -- JSON list of project ids, or ["*"]
    allowed_ips  TEXT NOT NULL DEFAULT '[]',    -- JSON list of CIDRs
    expires_at   TEXT,
    revoked_at   TEXT,
    last_used_at TEXT,
    created_by   TEXT,
    created_at   TEXT NOT NULL
);

CREATE TABLE projects (
    id              TEXT PRIMARY KEY,           -- slug of the name, unique
    name            TEXT NOT NULL UNIQUE,
    template        TEXT NOT NULL,
    variables       TEXT NOT NULL DEFAULT '{}',
    labels          TEXT NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL,              -- creating | ready | failed | deleting
    failed_step     TEXT,
    error           TEXT,
    workspace       TEXT NOT NULL,
    callback_token  TEXT NOT NULL,              -- encrypted: signs the project's sdlc callbacks
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE credentials (
    name        TEXT PRIMARY KEY,
    ciphertext  BLOB NOT NULL,                  -- AES-GCM under the master key (nonce || ciphertext)
    description TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE project_credentials (
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    env         TEXT NOT NULL,
    credential  TEXT NOT NULL REFERENCES credentials(name),
    PRIMARY KEY (project_id, env)
);

CREATE TABLE commands (
    id           TEXT PRIMARY KEY,
    project_id   TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,                 -- shell | git | claude | opencode
    request      TEXT NOT NULL,                 -- JSON of the request (no secret values)
    status       TEXT NOT NULL,                 -- queued | running | succeeded | failed | timed_out | cancelled
    exit_code    INTEGER,
    signal       INTEGER,
    reason       TEXT,
    pgid         INTEGER,                       -- process group while running (orphan cleanup)
    output_bytes INTEGER NOT NULL DEFAULT 0,
    truncated    INTEGER NOT NULL DEFAULT 0,
    next_seq     INTEGER NOT NULL DEFAULT 1,
    created_at   TEXT NOT NULL,
    started_at   TEXT,
    finished_at  TEXT
);
CREATE INDEX commands_by_project ON commands(project_id, created_at);
CREATE INDEX commands_running ON commands(status) WHERE status = 'running';

CREATE TABLE command_events (
    command_id TEXT NOT NULL REFERENCES commands(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    event      TEXT NOT NULL,                   -- output | agent | status | end
    data       TEXT NOT NULL,                   -- JSON
    created_at TEXT NOT NULL,
    PRIMARY KEY (command_id, seq)
);

CREATE TABLE work_items (
    id               TEXT PRIMARY KEY,
    type             TEXT NOT NULL,
    project_id       TEXT REFERENCES projects(id) ON DELETE SET NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL,
    priority         INTEGER NOT NULL DEFAULT 0,
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 3,
    run_after        TEXT NOT NULL,
    lease_expires_at TEXT,
    worker_id        TEXT,
    result           TEXT,
    last_error       TEXT,
    started_at       TEXT,
    finished_at      TEXT,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX work_claimable ON work_items(status, type, priority DESC, run_after, created_at);
CREATE INDEX work_leases ON work_items(lease_expires_at) WHERE status = 'running';

CREATE TABLE workers (
    id             TEXT PRIMARY KEY,
    name           TEXT,
    types          TEXT NOT NULL DEFAULT '[]',
    embedded       INTEGER NOT NULL DEFAULT 0,
    status         TEXT NOT NULL,               -- active | draining | gone
    last_seen_at   TEXT NOT NULL,
    registered_at  TEXT NOT NULL
);

CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,                  -- JSON list of event names, or ["*"]
    secret      BLOB NOT NULL,                  -- encrypted
    active      INTEGER NOT NULL DEFAULT 1,
    description TEXT,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    webhook_id      TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event           TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,              -- pending | delivered | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    last_status     INTEGER,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT
);
CREATE INDEX deliveries_due ON webhook_deliveries(status, next_attempt_at);

CREATE TABLE delivery_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at          TEXT NOT NULL,
    status_code INTEGER,
    error       TEXT,
    duration_ms INTEGER,
    PRIMARY KEY (delivery_id, attempt)
);

CREATE TABLE sdlc_events (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    event_id   INTEGER NOT NULL,                -- the project's events.jsonl id: duplicates are dropped
    type       TEXT NOT NULL,
    feature    TEXT,
    data       TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (project_id, event_id)
);

CREATE TABLE audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ts         TEXT NOT NULL,
    key_id     TEXT,
    action     TEXT NOT NULL,
    target     TEXT,
    request_id TEXT,
    client_ip  TEXT
);
CREATE INDEX audit_by_ts ON audit(ts);
