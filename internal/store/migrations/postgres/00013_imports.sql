-- +goose Up
-- A staged import: an uploaded file of users, read into import_rows, previewed, then applied
-- by a background job in batches. The plan_* counts are the preview's (each row's planned
-- outcome); the done_* counts are what applying did so far. A job works an import while it
-- holds the lease (lease_until in the future); a job that died leaves the lease to run out.
CREATE TABLE imports (
    id              TEXT PRIMARY KEY,
    file_name       TEXT NOT NULL,
    format          TEXT NOT NULL,
    header          TEXT NOT NULL,     -- JSON: the header row as the file has it
    columns         TEXT NOT NULL,     -- JSON: the column each header cell gives ("" read past)
    unknown         TEXT NOT NULL,     -- JSON: the headers read past
    invitations     BOOLEAN NOT NULL,  -- a file of addresses: each row invites a person
    invite          BOOLEAN NOT NULL,  -- the "send invitations" option
    status          TEXT NOT NULL,     -- staged, queued, processing, completed, failed, cancelled
    rows_total      BIGINT NOT NULL DEFAULT 0,
    rows_done       BIGINT NOT NULL DEFAULT 0,
    plan_create     BIGINT NOT NULL DEFAULT 0,
    plan_update     BIGINT NOT NULL DEFAULT 0,
    plan_delete     BIGINT NOT NULL DEFAULT 0,
    plan_skip       BIGINT NOT NULL DEFAULT 0,
    plan_error      BIGINT NOT NULL DEFAULT 0,
    done_create     BIGINT NOT NULL DEFAULT 0,
    done_update     BIGINT NOT NULL DEFAULT 0,
    done_delete     BIGINT NOT NULL DEFAULT 0,
    done_skip       BIGINT NOT NULL DEFAULT 0,
    done_error      BIGINT NOT NULL DEFAULT 0,
    actor_id        TEXT,              -- a user id, not a reference: the history outlives the user
    actor_name      TEXT NOT NULL,
    actor_perms     TEXT NOT NULL,     -- JSON: the permissions the import acts with at most
    client_ip       TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMPTZ NOT NULL,
    started_at      TIMESTAMPTZ,
    finished_at     TIMESTAMPTZ,
    cancel_asked_at TIMESTAMPTZ,
    cancelled_by    TEXT NOT NULL DEFAULT '',
    error           TEXT NOT NULL DEFAULT '',
    lease_owner     TEXT NOT NULL DEFAULT '',
    lease_until     TIMESTAMPTZ
);
CREATE INDEX imports_created_idx ON imports (created_at, id);
CREATE INDEX imports_status_idx ON imports (status);

-- One row of an import file: its cells as the file has them, the preview's plan and, once
-- applied, its outcome (NULL until then) with the reason of an error or a skip.
CREATE TABLE import_rows (
    import_id TEXT NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    row_no    BIGINT NOT NULL,  -- the row number a spreadsheet shows (the header is row 1)
    cells     TEXT NOT NULL, -- JSON array
    plan      TEXT NOT NULL, -- create, update, delete, skip or error
    outcome   TEXT,
    field     TEXT NOT NULL DEFAULT '', -- the column (as the file heads it) an error is about
    value     TEXT NOT NULL DEFAULT '',
    reason    TEXT NOT NULL DEFAULT '',
    user_id   TEXT,
    PRIMARY KEY (import_id, row_no)
);

-- +goose Down
DROP TABLE import_rows;
DROP TABLE imports;
