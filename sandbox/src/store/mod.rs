//! Persistence: the cheap-clone [`Store`] handle over SQLite.
//!
//! Layout (see `SCHEMA`): a generic `docs` table keyed by (tenant, kind, key) holding JSON
//! documents (users, groups, partner configurations, identity-sync policies, templates, the
//! cross-tenant access policy root and default), plus the few relational tables the MTO needs
//! (`mto_orgs`, `mto_members`, `join_requests`), the async work queue `jobs` with due times,
//! `tenants`/`apps` from the seed, `group_members`, `seed_applied` and `meta` (token key), and the
//! cross-tenant synchronization tables of [`sync`] (assignments, jobs, secrets, entries, links).
//!
//! Every SQL statement of the sandbox is here: the submodules ([`docs`], [`filter`], [`mto`],
//! [`sync`], [`tenants`]) are functions over a lent [`Conn`] that return typed rows and fail
//! with [`StoreError`]. Callers compose them inside one closure per transaction; a closure may
//! fail with its own error type (anything a `StoreError` converts into, such as `ApiError`),
//! which rolls the transaction back.
//!
//! Concurrency: SQLite calls block, so every call runs on tokio's blocking pool
//! ([`Store::read`], [`Store::write`]) and takes a std `Mutex` around one connection only for
//! the duration of that synchronous closure — never across an `.await`. With a database file
//! the store keeps one writer connection and a few reader connections (WAL lets readers run
//! while the writer commits); in memory there is a single connection.
//!
//! Durability: WAL with `synchronous=NORMAL`. A write is committed before the handler answers,
//! and a committed WAL transaction survives the process being killed (`kill -9`); only an OS
//! crash or power loss could lose the last transactions, which a test sandbox accepts.

pub mod docs;
pub mod filter;
pub mod mto;
pub mod sync;
pub mod tenants;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{Connection, Transaction, TransactionBehavior};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS tenants (
    id             TEXT PRIMARY KEY,
    display_name   TEXT NOT NULL,
    initial_domain TEXT NOT NULL COLLATE NOCASE UNIQUE,
    created_ms     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS apps (
    tenant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    secret    TEXT NOT NULL,
    roles     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, client_id)
);
CREATE TABLE IF NOT EXISTS app_credentials (
    tenant_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    body      TEXT NOT NULL,
    PRIMARY KEY (tenant_id, client_id)
);
CREATE TABLE IF NOT EXISTS docs (
    tenant_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    key        TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, kind, key)
);
CREATE INDEX IF NOT EXISTS docs_upn
    ON docs (tenant_id, kind, lower(json_extract(body, '$.userPrincipalName')));
CREATE TABLE IF NOT EXISTS group_members (
    tenant_id TEXT NOT NULL,
    group_id  TEXT NOT NULL,
    member_id TEXT NOT NULL,
    PRIMARY KEY (tenant_id, group_id, member_id)
);
CREATE TABLE IF NOT EXISTS seed_applied (
    tenant_id TEXT NOT NULL,
    kind      TEXT NOT NULL,
    key       TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kind, key)
);
CREATE TABLE IF NOT EXISTS mto_orgs (
    org_id         TEXT PRIMARY KEY,
    display_name   TEXT NOT NULL,
    description    TEXT,
    created_ms     INTEGER NOT NULL,
    creator_tenant TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS mto_members (
    org_id       TEXT NOT NULL,
    tenant_id    TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role         TEXT NOT NULL,
    state        TEXT NOT NULL,
    added_ms     INTEGER NOT NULL,
    joined_ms    INTEGER,
    added_by     TEXT NOT NULL,
    transition   TEXT,
    local_id     TEXT,
    PRIMARY KEY (org_id, tenant_id)
);
CREATE INDEX IF NOT EXISTS mto_members_tenant ON mto_members (tenant_id);
CREATE TABLE IF NOT EXISTS join_requests (
    tenant_id    TEXT PRIMARY KEY,
    id           TEXT NOT NULL,
    added_by     TEXT NOT NULL,
    member_state TEXT,
    role         TEXT,
    transition   TEXT
);
CREATE TABLE IF NOT EXISTS jobs (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    due_ms    INTEGER NOT NULL,
    kind      TEXT NOT NULL,
    tenant_id TEXT NOT NULL,
    org_id    TEXT,
    payload   TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (due_ms);
"#;

/// Everything the store can fail with. Request handlers turn it into a Graph 500 through
/// `From<StoreError> for ApiError` (the one mapping); start-up code prints it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite refused.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored JSON text could not be read or written.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// A row breaks an invariant of the layout (a document that is not an object, a member row
    /// without its organization).
    #[error("{0}")]
    Corrupt(String),
    /// The blocking task running a store closure failed (panicked or was cancelled).
    #[error("store task: {0}")]
    Task(String),
    /// The data directory could not be created.
    #[error("data directory: {0}")]
    Io(#[from] std::io::Error),
    /// Another process holds the data directory's lock.
    #[error("{0}")]
    Locked(String),
}

/// A connection lent to a store closure ([`Store::read`], [`Store::write`] and their variants);
/// inside a write it is the open transaction. Code outside `store/` only passes it to the store's
/// functions, which hold every SQL statement of the sandbox; it derefs to the rusqlite
/// connection for them (and for tests that inspect tables).
pub struct Conn(Connection);

impl std::ops::Deref for Conn {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.0
    }
}

/// Cheap-clone handle to the database.
#[derive(Clone)]
pub struct Store {
    shared: Arc<Shared>,
}

struct Shared {
    /// The only connection that writes. A std Mutex (not tokio's) because it is locked only
    /// inside synchronous closures on the blocking pool and never held across an `.await`.
    writer: Mutex<Conn>,
    /// Read-only connections (file mode only; empty in memory, where reads use `writer`).
    /// Same locking rule as `writer`.
    readers: Vec<Mutex<Conn>>,
    next_reader: AtomicUsize,
}

const READERS: usize = 3;

/// Create `dir` (and missing parents) readable by its owner only (0700 on unix). An existing
/// directory is left as it is.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// Create `path` if missing and make it readable by its owner only (0600 on unix).
fn make_private_file(path: &Path) -> std::io::Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let f = o.open(path)?;
    #[cfg(unix)]
    f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    drop(f);
    Ok(())
}

/// The exclusive lock of a data directory (`DIR/sandbox.lock`), held while the value lives.
/// The operating system releases it when the process dies, even by `kill -9`.
#[derive(Debug)]
pub struct DataDirLock {
    _file: std::fs::File,
}

/// Lock `dir` (creating it, 0700) for this process, or fail when another process holds it.
/// Two sandboxes on one directory would run two job workers and two synchronization engines
/// over one database. [`Store::open`] does not lock, so tests may reopen a directory in-process.
pub fn lock_data_dir(dir: &Path) -> Result<DataDirLock, StoreError> {
    use std::io::{Read, Seek, Write};
    create_private_dir(dir)?;
    let path = dir.join("sandbox.lock");
    let mut o = std::fs::OpenOptions::new();
    o.create(true).truncate(false).read(true).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut file = o.open(&path)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            return Err(StoreError::Locked(format!(
                "the data directory {} is in use by another mto-sandbox{} (lock {}); stop it or use another --data directory",
                dir.display(),
                if holder.is_empty() {
                    String::new()
                } else {
                    format!(" (pid {holder})")
                },
                path.display()
            )));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(e.into()),
    }
    file.set_len(0)?;
    file.rewind()?;
    write!(file, "{}", std::process::id())?;
    file.flush()?;
    Ok(DataDirLock { _file: file })
}

impl Store {
    /// Open (creating if needed) `DIR/sandbox.db`, or a private in-memory database.
    pub fn open(data_dir: Option<&Path>) -> Result<Store, StoreError> {
        let (writer, readers) = match data_dir {
            Some(dir) => {
                // The database holds the token-signing key and client secrets in clear: the
                // directory is the owner's only (0700) and the files 0600 (SQLite gives its
                // -wal and -shm files the database's mode).
                create_private_dir(dir)?;
                let path = dir.join("sandbox.db");
                make_private_file(&path)?;
                for side in ["sandbox.db-wal", "sandbox.db-shm"] {
                    if dir.join(side).exists() {
                        make_private_file(&dir.join(side))?;
                    }
                }
                let writer = Connection::open(&path)?;
                writer.pragma_update(None, "journal_mode", "WAL")?;
                writer.pragma_update(None, "synchronous", "NORMAL")?;
                writer.busy_timeout(std::time::Duration::from_secs(5))?;
                // A 256 MiB page cache (default 2 MiB) keeps the index pages a synchronization
                // cycle writes in memory; pages are allocated only as the database grows. At
                // 64 MiB a 380,000-user full cycle (20 tenants x 1,000 users, full mesh) spent
                // most of its time re-reading index pages: 69 s instead of 53 s.
                writer.pragma_update(None, "cache_size", -262144)?;
                // Checkpoint every ~40 MiB of WAL instead of ~4 MiB: bulk writes (a cycle
                // creating 100k users) copy and fsync hot pages ten times less often.
                writer.pragma_update(None, "wal_autocheckpoint", 10000)?;
                writer.execute_batch(SCHEMA)?;
                writer.execute_batch(sync::SCHEMA)?;
                let mut readers = Vec::new();
                for _ in 0..READERS {
                    let r = Connection::open(&path)?;
                    r.busy_timeout(std::time::Duration::from_secs(5))?;
                    r.pragma_update(None, "query_only", "ON")?;
                    r.pragma_update(None, "cache_size", -16384)?;
                    readers.push(Mutex::new(Conn(r)));
                }
                (writer, readers)
            }
            None => {
                let writer = Connection::open_in_memory()?;
                writer.execute_batch(SCHEMA)?;
                writer.execute_batch(sync::SCHEMA)?;
                (writer, Vec::new())
            }
        };
        Ok(Store {
            shared: Arc::new(Shared {
                writer: Mutex::new(Conn(writer)),
                readers,
                next_reader: AtomicUsize::new(0),
            }),
        })
    }

    fn lock(m: &Mutex<Conn>) -> MutexGuard<'_, Conn> {
        // A panic inside a closure poisons the mutex; the connection itself is still usable
        // (an open transaction was rolled back when it was dropped).
        m.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Run `f` on a read connection, synchronously. Use from blocking contexts only. `f` fails
    /// with its own error type: anything a [`StoreError`] converts into.
    pub fn read_blocking<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        if self.shared.readers.is_empty() {
            return f(&Self::lock(&self.shared.writer));
        }
        let n = self.shared.next_reader.fetch_add(1, Ordering::Relaxed) % self.shared.readers.len();
        // Prefer a free reader; fall back to waiting on the round-robin pick.
        for i in 0..self.shared.readers.len() {
            let idx = (n + i) % self.shared.readers.len();
            if let Ok(conn) = self.shared.readers[idx].try_lock() {
                return f(&conn);
            }
        }
        f(&Self::lock(&self.shared.readers[n]))
    }

    /// Run `f` in an IMMEDIATE transaction on the writer and commit it, synchronously.
    /// `f` returning an error (of its own type, as in [`Store::read_blocking`]) or panicking
    /// rolls the transaction back.
    pub fn write_blocking<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&Conn) -> Result<T, E>,
    ) -> Result<T, E> {
        let conn = Self::lock(&self.shared.writer);
        // `new_unchecked` takes the connection by shared reference, so `f` can be lent the same
        // connection; the mutex guard makes this the only transaction on it. Dropping `tx`
        // without a commit rolls back.
        let tx = Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let out = f(&conn)?;
        tx.commit().map_err(StoreError::from)?;
        Ok(out)
    }

    /// Run `f` on a read connection on the blocking pool; `f` fails with its own error type (see
    /// [`Store::read_blocking`]). [`Store::read`] is the shorthand for closures of store calls.
    pub async fn read_with<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Conn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.read_blocking(f))
            .await
            .map_err(|e| E::from(StoreError::Task(e.to_string())))?
    }

    /// Run `f` in a committed write transaction on the blocking pool; an error of `f` (of its
    /// own type) rolls it back. The commit happens before this returns, so a handler that
    /// answers after it has made the write durable. [`Store::write`] is the shorthand for
    /// closures of store calls.
    pub async fn write_with<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Conn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let store = self.clone();
        tokio::task::spawn_blocking(move || store.write_blocking(f))
            .await
            .map_err(|e| E::from(StoreError::Task(e.to_string())))?
    }

    /// [`Store::read_with`] for closures that fail only with [`StoreError`].
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Conn) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.read_with(f).await
    }

    /// [`Store::write_with`] for closures that fail only with [`StoreError`].
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Conn) -> Result<T, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        self.write_with(f).await
    }

    /// The HMAC key for access tokens: stored in `meta` so tokens survive a restart
    /// (a new in-memory database gets a new random key).
    pub fn token_key(&self) -> Result<Vec<u8>, StoreError> {
        self.write_blocking(|tx| {
            meta_or_insert(tx, "token_key", || rand::random::<[u8; 32]>().to_vec())
        })
    }
}

/// The `meta` value under `key`, created by `make` (and stored) when there is none yet: keys that
/// must survive a restart (the token key, the test OIDC issuers' signing keys).
pub fn meta_or_insert(
    conn: &Conn,
    key: &str,
    make: impl FnOnce() -> Vec<u8>,
) -> Result<Vec<u8>, StoreError> {
    use rusqlite::OptionalExtension;
    let existing: Option<Vec<u8>> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?;
    if let Some(v) = existing {
        return Ok(v);
    }
    let value = make();
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)",
        rusqlite::params![key, value],
    )?;
    Ok(value)
}
