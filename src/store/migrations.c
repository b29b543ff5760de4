/* Schema migrations, applied in order at open; PRAGMA user_version holds the
 * number applied. Never edit a released migration: add a new one. */
#include "store/store_private.h"

const struct mr_migration mr_store_migrations[] = {
    {"initial schema",
     "CREATE TABLE meta ("
     "  key TEXT PRIMARY KEY,"
     "  value BLOB NOT NULL"
     ") STRICT;"
     "CREATE TABLE credentials ("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
     "  kind TEXT NOT NULL DEFAULT 'password' CHECK (kind IN ('password', 'oauth2')),"
     "  username TEXT NOT NULL,"
     "  secret BLOB NOT NULL,"
     "  created_at INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL"
     ") STRICT;"
     "CREATE TABLE connectors ("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
     "  type TEXT NOT NULL CHECK (type IN ('socks5', 'http')),"
     "  address TEXT NOT NULL,"
     "  port INTEGER NOT NULL CHECK (port BETWEEN 1 AND 65535),"
     "  credential_id INTEGER REFERENCES credentials(id) ON DELETE RESTRICT,"
     "  created_at INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL"
     ") STRICT;"
     "CREATE TABLE accounts ("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
     "  keep_copy INTEGER NOT NULL CHECK (keep_copy IN (0, 1)),"
     "  automatic_check INTEGER NOT NULL CHECK (automatic_check IN (0, 1)),"
     "  check_interval INTEGER NOT NULL CHECK (check_interval > 0),"
     "  enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),"
     "  address TEXT NOT NULL,"
     "  port INTEGER CHECK (port IS NULL OR port BETWEEN 1 AND 65535),"
     "  protocol TEXT NOT NULL CHECK (protocol IN ('imap', 'pop3')),"
     "  use_connector INTEGER NOT NULL CHECK (use_connector IN (0, 1)),"
     "  connector_id INTEGER REFERENCES connectors(id) ON DELETE RESTRICT,"
     "  credential_id INTEGER NOT NULL REFERENCES credentials(id) ON DELETE RESTRICT,"
     "  skip_certificate INTEGER NOT NULL CHECK (skip_certificate IN (0, 1)),"
     "  security TEXT NOT NULL"
     "    CHECK (security IN ('none', 'starttls-optional', 'starttls', 'tls')),"
     "  folder TEXT,"
     "  auth TEXT,"
     "  created_at INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL"
     ") STRICT;"
     "CREATE INDEX accounts_credential ON accounts(credential_id);"
     "CREATE INDEX accounts_connector ON accounts(connector_id);"
     "CREATE INDEX connectors_credential ON connectors(credential_id);"
     "CREATE TABLE settings ("
     "  id INTEGER PRIMARY KEY CHECK (id = 1),"
     "  default_connector_id INTEGER REFERENCES connectors(id) ON DELETE RESTRICT"
     ") STRICT;"
     "INSERT INTO settings (id, default_connector_id) VALUES (1, NULL);"},
    {"messages, fetch state and history",
     "ALTER TABLE accounts ADD COLUMN max_message_size INTEGER;"
     "ALTER TABLE accounts ADD COLUMN ca_file TEXT;"
     "CREATE TABLE messages ("
     "  id INTEGER PRIMARY KEY,"
     "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
     "  uidvalidity INTEGER,"
     "  uid INTEGER,"
     "  uidl TEXT,"
     "  sha256 BLOB NOT NULL,"
     "  size INTEGER NOT NULL,"
     "  fetched_at INTEGER NOT NULL,"
     "  status TEXT NOT NULL CHECK (status IN ('stored', 'parse_failed')),"
     "  message_id TEXT,"
     "  date TEXT,"
     "  date_unix INTEGER,"
     "  from_addr TEXT,"
     "  to_addr TEXT,"
     "  cc_addr TEXT,"
     "  subject TEXT,"
     "  attachments INTEGER NOT NULL DEFAULT 0,"
     "  body_text TEXT,"
     "  UNIQUE (account_id, uidvalidity, uid),"
     "  UNIQUE (account_id, uidl)"
     ") STRICT;"
     "CREATE INDEX messages_by_account ON messages(account_id, id);"
     "CREATE INDEX messages_by_digest ON messages(account_id, sha256);"
     "CREATE TABLE message_raw ("
     "  message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,"
     "  raw BLOB NOT NULL"
     ") STRICT;"
     "CREATE TABLE attachments ("
     "  message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
     "  position INTEGER NOT NULL,"
     "  filename TEXT,"
     "  content_type TEXT NOT NULL,"
     "  size INTEGER NOT NULL,"
     "  PRIMARY KEY (message_id, position)"
     ") STRICT;"
     "CREATE TABLE fetch_state ("
     "  account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,"
     "  uidvalidity INTEGER NOT NULL,"
     "  last_uid INTEGER NOT NULL"
     ") STRICT;"
     "CREATE TABLE skipped ("
     "  id INTEGER PRIMARY KEY,"
     "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
     "  uidvalidity INTEGER,"
     "  uid INTEGER,"
     "  uidl TEXT,"
     "  size INTEGER NOT NULL,"
     "  reason TEXT NOT NULL,"
     "  seen_at INTEGER NOT NULL,"
     "  UNIQUE (account_id, uidvalidity, uid),"
     "  UNIQUE (account_id, uidl)"
     ") STRICT;"
     "CREATE TABLE fetch_runs ("
     "  id INTEGER PRIMARY KEY,"
     "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
     "  started_at INTEGER NOT NULL,"
     "  ended_at INTEGER,"
     "  result TEXT NOT NULL CHECK (result IN ('running', 'ok', 'error')),"
     "  fetched INTEGER NOT NULL DEFAULT 0,"
     "  bytes INTEGER NOT NULL DEFAULT 0,"
     "  deleted INTEGER NOT NULL DEFAULT 0,"
     "  skipped INTEGER NOT NULL DEFAULT 0,"
     "  error TEXT"
     ") STRICT;"
     "CREATE INDEX fetch_runs_by_account ON fetch_runs(account_id, id);"},
    {"users, sessions and API tokens",
     "CREATE TABLE users ("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
     "  role TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),"
     "  password_hash TEXT NOT NULL,"
     "  created_at INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL"
     ") STRICT;"
     "CREATE TABLE sessions ("
     "  token_hash BLOB PRIMARY KEY,"
     "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
     "  csrf TEXT NOT NULL,"
     "  created_at INTEGER NOT NULL,"
     "  last_seen_at INTEGER NOT NULL"
     ") STRICT;"
     "CREATE TABLE api_tokens ("
     "  id INTEGER PRIMARY KEY,"
     "  token_hash BLOB NOT NULL UNIQUE,"
     "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
     "  name TEXT NOT NULL,"
     "  created_at INTEGER NOT NULL,"
     "  last_used_at INTEGER"
     ") STRICT;"},
    {"audit log", "CREATE TABLE audit_log ("
                  "  id INTEGER PRIMARY KEY,"
                  "  at INTEGER NOT NULL,"
                  "  actor TEXT NOT NULL,"
                  "  action TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete')),"
                  "  object TEXT NOT NULL,"
                  "  object_id INTEGER,"
                  "  object_name TEXT,"
                  "  changes TEXT NOT NULL"
                  ") STRICT;"
                  "CREATE INDEX audit_by_object ON audit_log(object, object_id);"},
    {"scheduled reports and the SMTP relay",
     "CREATE TABLE report_schedules ("
     "  id INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL UNIQUE COLLATE NOCASE,"
     "  filters TEXT NOT NULL,"
     "  format TEXT NOT NULL CHECK (format IN ('csv', 'html')),"
     "  recurrence TEXT NOT NULL CHECK (recurrence IN ('daily', 'weekly', 'monthly', 'hours')),"
     "  at_time TEXT,"
     "  day INTEGER,"
     "  every_hours INTEGER,"
     "  recipients TEXT NOT NULL,"
     "  directory TEXT,"
     "  enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),"
     "  next_run_at INTEGER NOT NULL,"
     "  last_run_at INTEGER,"
     "  last_result TEXT,"
     "  last_error TEXT,"
     "  failures INTEGER NOT NULL DEFAULT 0,"
     "  created_at INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL"
     ") STRICT;"
     "ALTER TABLE settings ADD COLUMN smtp_host TEXT;"
     "ALTER TABLE settings ADD COLUMN smtp_port INTEGER;"
     "ALTER TABLE settings ADD COLUMN smtp_security TEXT;"
     "ALTER TABLE settings ADD COLUMN smtp_credential_id INTEGER"
     "  REFERENCES credentials(id) ON DELETE RESTRICT;"
     "ALTER TABLE settings ADD COLUMN smtp_from TEXT;"},
    /* The planner reads every account's last run, failures since its last
     * success, and whether one is running, once a second: one index seek
     * each, however long the history. */
    {"run history by result",
     "CREATE INDEX fetch_runs_by_result ON fetch_runs(account_id, result, id);"},
    {"how a connector reaches its proxy",
     "ALTER TABLE connectors ADD COLUMN resolve_local INTEGER NOT NULL DEFAULT 0"
     "  CHECK (resolve_local IN (0, 1));"
     "ALTER TABLE connectors ADD COLUMN tls INTEGER NOT NULL DEFAULT 0 CHECK (tls IN (0, 1));"
     "ALTER TABLE connectors ADD COLUMN skip_certificate INTEGER NOT NULL DEFAULT 0"
     "  CHECK (skip_certificate IN (0, 1));"
     "ALTER TABLE connectors ADD COLUMN ca_file TEXT;"},
    /* The inbox answers a page in milliseconds with a million messages: its
     * totals come from counters kept by triggers (a count(*) read the whole
     * table), and its pages are picked from compact indexes before the rows
     * are read. */
    {"message counters and inbox indexes",
     "CREATE TABLE message_counts ("
     "  account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,"
     "  stored INTEGER NOT NULL DEFAULT 0,"
     "  parse_failed INTEGER NOT NULL DEFAULT 0"
     ") STRICT;"
     "INSERT INTO message_counts (account_id, stored, parse_failed)"
     "  SELECT account_id, sum(status = 'stored'), sum(status = 'parse_failed')"
     "  FROM messages GROUP BY account_id;"
     "CREATE TRIGGER message_counted AFTER INSERT ON messages BEGIN"
     "  INSERT INTO message_counts (account_id) VALUES (NEW.account_id)"
     "    ON CONFLICT (account_id) DO NOTHING;"
     "  UPDATE message_counts SET stored = stored + (NEW.status = 'stored'),"
     "    parse_failed = parse_failed + (NEW.status = 'parse_failed')"
     "    WHERE account_id = NEW.account_id;"
     "END;"
     "CREATE TRIGGER message_uncounted AFTER DELETE ON messages BEGIN"
     "  UPDATE message_counts SET stored = stored - (OLD.status = 'stored'),"
     "    parse_failed = parse_failed - (OLD.status = 'parse_failed')"
     "    WHERE account_id = OLD.account_id;"
     "END;"
     "CREATE TRIGGER message_recounted AFTER UPDATE OF status, account_id ON messages BEGIN"
     "  UPDATE message_counts SET stored = stored - (OLD.status = 'stored'),"
     "    parse_failed = parse_failed - (OLD.status = 'parse_failed')"
     "    WHERE account_id = OLD.account_id;"
     "  INSERT INTO message_counts (account_id) VALUES (NEW.account_id)"
     "    ON CONFLICT (account_id) DO NOTHING;"
     "  UPDATE message_counts SET stored = stored + (NEW.status = 'stored'),"
     "    parse_failed = parse_failed + (NEW.status = 'parse_failed')"
     "    WHERE account_id = NEW.account_id;"
     "END;"
     "CREATE INDEX messages_recent ON messages(id);"
     "CREATE INDEX messages_by_status ON messages(status, id);"},
    /* A deep inbox page by number (the whole inbox, or one status) starts
     * from the block of 4096 IDs it falls in, found by summing these counts
     * from the newest block down, instead of an OFFSET that steps over
     * every newer message. */
    {"message counts per block of IDs",
     "CREATE TABLE message_blocks ("
     "  status TEXT NOT NULL,"
     "  block INTEGER NOT NULL,"
     "  n INTEGER NOT NULL,"
     "  PRIMARY KEY (status, block)"
     ") STRICT, WITHOUT ROWID;"
     "INSERT INTO message_blocks (status, block, n)"
     "  SELECT status, id >> 12, count(*) FROM messages GROUP BY status, id >> 12;"
     "CREATE TRIGGER message_blocked AFTER INSERT ON messages BEGIN"
     "  INSERT INTO message_blocks (status, block, n) VALUES (NEW.status, NEW.id >> 12, 1)"
     "    ON CONFLICT (status, block) DO UPDATE SET n = n + 1;"
     "END;"
     "CREATE TRIGGER message_unblocked AFTER DELETE ON messages BEGIN"
     "  UPDATE message_blocks SET n = n - 1 WHERE status = OLD.status AND block = OLD.id >> 12;"
     "END;"
     "CREATE TRIGGER message_reblocked AFTER UPDATE OF status ON messages BEGIN"
     "  UPDATE message_blocks SET n = n - 1 WHERE status = OLD.status AND block = OLD.id >> 12;"
     "  INSERT INTO message_blocks (status, block, n) VALUES (NEW.status, NEW.id >> 12, 1)"
     "    ON CONFLICT (status, block) DO UPDATE SET n = n + 1;"
     "END;"},
    /* A trigger makes every INSERT INTO messages keep a statement journal:
     * each table and index page the insert touches is copied there first
     * (with 64 KiB pages, ~0.5 MB per message: 1 GB of temp-file writes
     * for 2,000 messages). The counters of new messages are now kept by
     * mr_store_message_insert in its transaction; deletes and status
     * changes, which are rare, keep their triggers. */
    {"message counters kept by the insert", "DROP TRIGGER message_counted;"
                                            "DROP TRIGGER message_blocked;"},
    /* Per-account limits on a slow or trickling server, and the POP3 size
     * check's tolerance; 0 is each one's default. */
    {"step timeout, low-speed limit, size tolerance",
     "ALTER TABLE accounts ADD COLUMN step_timeout INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE accounts ADD COLUMN min_speed INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE accounts ADD COLUMN min_speed_time INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE accounts ADD COLUMN size_tolerance INTEGER NOT NULL DEFAULT 0;"},
    {"API tokens that expire or only read",
     "ALTER TABLE api_tokens ADD COLUMN expires_at INTEGER;"
     "ALTER TABLE api_tokens ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0"
     "  CHECK (read_only IN (0, 1));"},
    /* A POP3 message whose bytes did not match the size LIST announced
     * (truncated, not dot-stuffed, longer) is stored with that size and
     * never deleted from the server; the inbox lists those from a partial
     * index, which holds only them. */
    {"messages whose size did not match the server's",
     "ALTER TABLE messages ADD COLUMN listed_size INTEGER;"
     "CREATE INDEX messages_size_mismatch ON messages(id) WHERE listed_size IS NOT NULL;"},
    /* Failed logins are audited (the name tried, the client's address):
     * the action's CHECK widens, which SQLite does by copying the table. */
    {"failed logins in the audit log",
     "CREATE TABLE audit_log_new ("
     "  id INTEGER PRIMARY KEY,"
     "  at INTEGER NOT NULL,"
     "  actor TEXT NOT NULL,"
     "  action TEXT NOT NULL"
     "    CHECK (action IN ('create', 'update', 'delete', 'login_failed')),"
     "  object TEXT NOT NULL,"
     "  object_id INTEGER,"
     "  object_name TEXT,"
     "  changes TEXT NOT NULL"
     ") STRICT;"
     "INSERT INTO audit_log_new (id, at, actor, action, object, object_id, object_name, changes)"
     "  SELECT id, at, actor, action, object, object_id, object_name, changes FROM audit_log;"
     "DROP TABLE audit_log;"
     "ALTER TABLE audit_log_new RENAME TO audit_log;"
     "CREATE INDEX audit_by_object ON audit_log(object, object_id);"},
    /* The relay's security was none unless set (NULL), and libcurl then sent
     * a credential's password in clear. STARTTLS is now required unless set:
     * a relay with a credential and none (or NULL) requires STARTTLS (its
     * next send fails, saying so, if the relay has none: the password is
     * never sent in clear unless the admin sets none-insecure); one with a
     * host and no credential keeps plain none, as it sent before. */
    {"SMTP relay: STARTTLS unless the admin says otherwise",
     "UPDATE settings SET smtp_security = 'starttls' WHERE smtp_credential_id IS NOT NULL"
     "  AND (smtp_security IS NULL OR lower(smtp_security) = 'none');"
     "UPDATE settings SET smtp_security = 'none' WHERE smtp_credential_id IS NULL"
     "  AND smtp_security IS NULL AND smtp_host IS NOT NULL;"},
    /* OAuth 2.0 credentials: the provider's settings (JSON, no secret) and
     * the token's state; the client secret and the tokens are sealed in
     * secret, as a password is. */
    {"OAuth 2.0 credentials", "ALTER TABLE credentials ADD COLUMN oauth TEXT;"
                              "ALTER TABLE credentials ADD COLUMN token_state TEXT;"
                              "ALTER TABLE credentials ADD COLUMN token_error TEXT;"
                              "ALTER TABLE credentials ADD COLUMN token_expires_at INTEGER;"
                              "ALTER TABLE credentials ADD COLUMN token_refreshed_at INTEGER;"
                              "ALTER TABLE credentials ADD COLUMN token_signed_in_at INTEGER;"},
    /* Handing mail on (issue 19). An account has zero or more delivery
     * targets; storing a message writes one deliveries row per enabled
     * target in the same transaction (the outbox), so a crash can neither
     * lose a delivery nor invent one. Times in deliveries are milliseconds.
     * The after-fetch action replaces keep copy's two values (NULL
     * after_fetch follows keep_copy); a message whose action is still to be
     * done on the server has action_pending 1. class is the message's kind
     * (ordinary, auto, report) for targets that skip some. */
    {"delivery targets, the outbox and after-fetch actions",
     "CREATE TABLE delivery_targets ("
     "  id INTEGER PRIMARY KEY,"
     "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
     "  name TEXT NOT NULL COLLATE NOCASE,"
     "  kind TEXT NOT NULL CHECK (kind IN ('webhook', 'maildir', 'command', 'lmtp')),"
     "  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),"
     "  url TEXT,"
     "  allow_http INTEGER NOT NULL DEFAULT 0 CHECK (allow_http IN (0, 1)),"
     "  secret_credential_id INTEGER REFERENCES credentials(id) ON DELETE RESTRICT,"
     "  stop_status TEXT,"
     "  inline_max INTEGER,"
     "  path TEXT,"
     "  command TEXT,"
     "  host TEXT,"
     "  port INTEGER,"
     "  recipients TEXT,"
     "  timeout INTEGER,"
     "  parallel INTEGER NOT NULL DEFAULT 0 CHECK (parallel IN (0, 1)),"
     "  retry_for INTEGER,"
     "  skip_classes TEXT,"
     "  created_at INTEGER NOT NULL,"
     "  updated_at INTEGER NOT NULL,"
     "  UNIQUE (account_id, name)"
     ") STRICT;"
     "CREATE INDEX delivery_targets_by_credential ON delivery_targets(secret_credential_id);"
     "CREATE TABLE deliveries ("
     "  id INTEGER PRIMARY KEY,"
     "  event_id TEXT NOT NULL UNIQUE,"
     "  message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,"
     "  target_id INTEGER NOT NULL REFERENCES delivery_targets(id) ON DELETE CASCADE,"
     "  account_id INTEGER NOT NULL,"
     "  state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed', 'skipped')),"
     "  attempts INTEGER NOT NULL DEFAULT 0,"
     "  created_ms INTEGER NOT NULL,"
     "  window_ms INTEGER NOT NULL,"
     "  next_ms INTEGER NOT NULL,"
     "  lease_ms INTEGER NOT NULL DEFAULT 0,"
     "  lease_owner TEXT,"
     "  last_attempt_ms INTEGER,"
     "  done_ms INTEGER,"
     "  last_error TEXT,"
     "  last_response TEXT,"
     "  progress TEXT,"
     "  UNIQUE (message_id, target_id)"
     ") STRICT;"
     "CREATE INDEX deliveries_pending ON deliveries(target_id, id) WHERE state = 'pending';"
     "CREATE INDEX deliveries_due ON deliveries(next_ms) WHERE state = 'pending';"
     "CREATE INDEX deliveries_failed ON deliveries(id) WHERE state = 'failed';"
     "CREATE INDEX deliveries_by_target ON deliveries(target_id, state);"
     "CREATE INDEX deliveries_by_account ON deliveries(account_id, id);"
     "ALTER TABLE accounts ADD COLUMN after_fetch TEXT"
     "  CHECK (after_fetch IN ('keep', 'seen', 'move', 'delete'));"
     "ALTER TABLE accounts ADD COLUMN move_folder TEXT;"
     "ALTER TABLE accounts ADD COLUMN create_folder INTEGER NOT NULL DEFAULT 0"
     "  CHECK (create_folder IN (0, 1));"
     "ALTER TABLE accounts ADD COLUMN action_when TEXT"
     "  CHECK (action_when IN ('stored', 'delivered'));"
     "ALTER TABLE messages ADD COLUMN action_pending INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE messages ADD COLUMN class TEXT;"
     "CREATE INDEX messages_action_pending ON messages(account_id, id) WHERE action_pending = 1;"},
    {"a server's request to wait before the next check (Exchange Online's throttling)",
     "ALTER TABLE fetch_runs ADD COLUMN retry_after INTEGER;"},
    /* The dashboard (store/dashboard.c) sums checks and messages fetched per
     * hour over the last days from the runs' end times, and the outbox's
     * backlog over time from the deliveries done since then: each a range
     * of an index (the first covering), however long the history. */
    {"dashboard indexes",
     "CREATE INDEX fetch_runs_by_end ON fetch_runs(ended_at, result, fetched);"
     "CREATE INDEX deliveries_by_done ON deliveries(done_ms, created_ms) WHERE done_ms IS NOT NULL;"
     "CREATE INDEX deliveries_pending_since ON deliveries(created_ms) WHERE state = 'pending';"},
    {"attachments inside forwarded messages", "ALTER TABLE attachments ADD COLUMN parent INTEGER;"},
    {"a fetch's error as said, for the console's languages",
     "ALTER TABLE fetch_runs ADD COLUMN error_said TEXT;"},
    {"a delivery's error as said, for the console's languages",
     "ALTER TABLE deliveries ADD COLUMN last_error_said TEXT;"},
    {"scheduled reports in their scheduler's language",
     "ALTER TABLE report_schedules ADD COLUMN language TEXT NOT NULL DEFAULT 'en'"
     "  CHECK (language IN ('en', 'pt-BR'));"},
    /* Push (IMAP IDLE, fetch/push.c). An account's revision counts the
     * changes to what its session was opened with: its own row, its
     * credential (not a token renewal: that changes the secret and
     * token_refreshed_at), its connector, the default connector it follows,
     * and that connector's credential. The daemon compares it with its push
     * connection's, so an edit from the console, the API or the command
     * line takes effect on the connection at once. push_status is what the
     * daemon's push connections are doing, for the report, the API and the
     * command line; the daemon empties it when it starts. */
    {"push (IMAP IDLE)",
     "ALTER TABLE accounts ADD COLUMN push INTEGER NOT NULL DEFAULT 1 CHECK (push IN (0, 1));"
     "ALTER TABLE accounts ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;"
     "CREATE TRIGGER accounts_revision AFTER UPDATE ON accounts"
     "  WHEN NEW.revision = OLD.revision"
     "  BEGIN UPDATE accounts SET revision = OLD.revision + 1 WHERE id = NEW.id; END;"
     "CREATE TRIGGER credentials_revision AFTER UPDATE ON credentials"
     "  WHEN NEW.updated_at IS NOT OLD.updated_at OR NEW.username IS NOT OLD.username"
     "    OR NEW.oauth IS NOT OLD.oauth"
     "    OR (NEW.secret IS NOT OLD.secret AND NEW.token_refreshed_at IS OLD.token_refreshed_at)"
     "  BEGIN UPDATE accounts SET revision = revision + 1"
     "    WHERE credential_id = NEW.id"
     "       OR connector_id IN (SELECT id FROM connectors WHERE credential_id = NEW.id)"
     "       OR (use_connector = 1 AND connector_id IS NULL AND NEW.id ="
     "           (SELECT c.credential_id FROM connectors c, settings s"
     "            WHERE c.id = s.default_connector_id));"
     "  END;"
     "CREATE TRIGGER connectors_revision AFTER UPDATE ON connectors"
     "  BEGIN UPDATE accounts SET revision = revision + 1"
     "    WHERE connector_id = NEW.id OR (use_connector = 1 AND connector_id IS NULL"
     "      AND NEW.id = (SELECT default_connector_id FROM settings));"
     "  END;"
     "CREATE TRIGGER settings_revision AFTER UPDATE OF default_connector_id ON settings"
     "  WHEN NEW.default_connector_id IS NOT OLD.default_connector_id"
     "  BEGIN UPDATE accounts SET revision = revision + 1"
     "    WHERE use_connector = 1 AND connector_id IS NULL;"
     "  END;"
     "CREATE TABLE push_status ("
     "  account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,"
     "  mode TEXT NOT NULL CHECK (mode IN ('push', 'connecting', 'poll', 'failing')),"
     "  reason TEXT,"
     "  reason_said TEXT,"
     "  since INTEGER NOT NULL,"
     "  connected_at INTEGER,"
     "  latency_ms INTEGER,"
     "  notices INTEGER NOT NULL DEFAULT 0"
     ") STRICT;"
     "ALTER TABLE fetch_runs ADD COLUMN trigger TEXT;"
     "ALTER TABLE fetch_runs ADD COLUMN latency_ms INTEGER;"},
    /* The console's live updates (store/events.c) ask once a second which
     * deliveries were attempted since the last time they looked, by any
     * process: a range of this index. */
    {"deliveries by their last attempt",
     "CREATE INDEX deliveries_by_attempt ON deliveries(last_attempt_ms)"
     "  WHERE last_attempt_ms IS NOT NULL;"},
};

const size_t mr_store_migration_count =
    sizeof(mr_store_migrations) / sizeof(mr_store_migrations[0]);
