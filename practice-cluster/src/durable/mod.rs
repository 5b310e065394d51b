//! Durable state: a write-ahead journal of every API object write and every
//! PersistentVolume file change, so a practice cluster started again with the same
//! state directory has the same objects (UIDs, resourceVersions) and the same files.
//!
//! Writes are appended as checksummed frames ([`record`]) to `DIR/journal` while the
//! store's lock is held, so the journal's order is the store's order. They are made
//! durable in groups: [`Journal::sync`] fsyncs everything appended so far, and the API
//! calls it before answering, so whatever a client was told is on disk (one fsync can
//! cover many concurrent writes). When the journal has grown to twice the live state,
//! it is rewritten as one record per live object and file (written to a temporary
//! file, fsynced, renamed over the journal), so deleted objects and volumes cost no
//! disk. On open, a torn or corrupt tail (a `kill -9` mid-write) is cut off.

pub mod record;

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

pub use record::Record;

/// The journal's file name inside the state directory.
const JOURNAL: &str = "journal";
/// The file a running cluster holds an exclusive lock on, so that two clusters never
/// write one journal.
const LOCK: &str = "lock";
/// Where a compaction writes before renaming over the journal.
const COMPACTING: &str = "journal.compacting";
/// Below this size the journal is never compacted: rewriting it would cost more than
/// the disk it frees.
const COMPACT_MIN: u64 = 1024 * 1024;

/// Errors of the state directory.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// Another running cluster holds the state directory.
    #[error("the state directory {0} is in use by another running practice cluster: stop it, or start this one with another state directory")]
    InUse(PathBuf),
    /// An earlier write failed, so later ones cannot be trusted to be on disk.
    #[error("the state directory stopped accepting writes: {0}")]
    Stopped(String),
}

/// Result of journal operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn io<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> Error + 'a {
    move |source| Error::Io { action, path: path.to_owned(), source }
}

/// What identifies a record's subject: a later record with the same key replaces it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Object { kind: String, namespace: String, name: String },
    Path { volume: String, path: String },
}

/// The live state: the latest record of every object and volume path.
#[derive(Debug, Default)]
struct Live {
    records: BTreeMap<Key, (Record, u64)>,
    /// Sum of the frame sizes in `records`.
    bytes: u64,
    /// Highest resourceVersion seen.
    rv: u64,
}

impl Live {
    fn insert(&mut self, key: Key, record: Record, size: u64) {
        self.bytes += size;
        if let Some((_, old)) = self.records.insert(key, (record, size)) {
            self.bytes -= old;
        }
    }

    fn remove(&mut self, key: &Key) {
        if let Some((_, old)) = self.records.remove(key) {
            self.bytes -= old;
        }
    }

    /// Removes the paths of `volume` for which `doomed` holds.
    fn remove_paths(&mut self, volume: &str, doomed: impl Fn(&str) -> bool) {
        let start = Key::Path { volume: volume.to_owned(), path: String::new() };
        let keys: Vec<Key> = self
            .records
            .range(start..)
            .map(|(k, _)| k)
            .take_while(|k| matches!(k, Key::Path { volume: v, .. } if v == volume))
            .filter(|k| matches!(k, Key::Path { path, .. } if doomed(path)))
            .cloned()
            .collect();
        for k in keys {
            self.remove(&k);
        }
    }

    fn apply(&mut self, record: Record, size: u64) {
        match &record {
            Record::Object { kind, namespace, name, rv, .. } => {
                self.rv = self.rv.max(*rv);
                let key = Key::Object { kind: kind.clone(), namespace: namespace.clone(), name: name.clone() };
                self.insert(key, record, size);
            }
            Record::Deleted { kind, namespace, name, rv } => {
                self.rv = self.rv.max(*rv);
                self.remove(&Key::Object { kind: kind.clone(), namespace: namespace.clone(), name: name.clone() });
            }
            Record::File { volume, path, .. } | Record::Dir { volume, path, .. } => {
                let key = Key::Path { volume: volume.clone(), path: path.clone() };
                self.insert(key, record, size);
            }
            Record::Removed { volume, path } => {
                let below = if path == "/" { "/".to_owned() } else { format!("{path}/") };
                self.remove_paths(volume, |p| p == path || p.starts_with(&below));
            }
            Record::VolumeGone { volume } => self.remove_paths(volume, |_| true),
            Record::Version { rv } => self.rv = self.rv.max(*rv),
        }
    }
}

/// What a state directory held when it was opened.
#[derive(Debug, Default)]
pub struct Restored {
    /// The highest resourceVersion handed out before.
    pub rv: u64,
    /// Every object, as (`apiVersion/kind`, JSON).
    pub objects: Vec<(String, Vec<u8>)>,
    /// Every PersistentVolume's directories and files, by volume name, in path order.
    pub volumes: BTreeMap<String, Vec<VolumeEntry>>,
}

impl Restored {
    /// Whether the directory held nothing (a first start, or `--fresh`).
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty() && self.volumes.is_empty()
    }
}

/// One directory or file of a restored volume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeEntry {
    /// Absolute path inside the volume.
    pub path: String,
    /// Modification time, nanoseconds since the Unix epoch.
    pub modified: u64,
    /// The content of a file; `None` for a directory.
    pub data: Option<Vec<u8>>,
}

#[derive(Debug)]
struct Writer {
    file: Arc<File>,
    size: u64,
    live: Live,
    stopped: Option<String>,
}

/// The append-only journal of one state directory.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    /// Locked for as long as the journal is open; the system releases it if the
    /// process dies.
    _lock: File,
    writer: Mutex<Writer>,
    /// Frames appended so far, and how many of them an fsync has covered.
    appended: AtomicU64,
    synced: AtomicU64,
    /// Set when a write failed: from then on every [`Journal::sync`] fails.
    stopped: AtomicBool,
    /// One fsync at a time; whoever waits here often finds its frames already covered.
    syncing: Mutex<()>,
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io("sync directory", dir))
}

fn open_append(path: &Path) -> Result<File> {
    OpenOptions::new().create(true).append(true).open(path).map_err(io("open", path))
}

impl Journal {
    /// Opens (creating it if needed) the state directory `dir`, or empties it first if
    /// `fresh`, and returns the journal with what it held.
    pub fn open(dir: &Path, fresh: bool) -> Result<(Arc<Journal>, Restored)> {
        std::fs::create_dir_all(dir).map_err(io("create", dir))?;
        let lock_path = dir.join(LOCK);
        let lock = OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path).map_err(io("open", &lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(Error::InUse(dir.to_owned())),
            Err(std::fs::TryLockError::Error(e)) => return Err(io("lock", &lock_path)(e)),
        }
        let path = dir.join(JOURNAL);
        let leftover = dir.join(COMPACTING);
        if leftover.exists() {
            // A compaction that did not reach its rename: the journal is still whole.
            std::fs::remove_file(&leftover).map_err(io("remove", &leftover))?;
        }
        if fresh && path.exists() {
            std::fs::remove_file(&path).map_err(io("remove", &path))?;
        }
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(io("read", &path)(e)),
        };
        let (records, good) = record::read_all(&bytes);
        let file = open_append(&path)?;
        if good < bytes.len() {
            tracing::warn!(path = %path.display(), dropped = bytes.len() - good, "cutting off the journal's torn tail");
            file.set_len(good as u64).map_err(io("truncate", &path))?;
            file.sync_all().map_err(io("sync", &path))?;
        }
        sync_dir(dir)?;
        let mut live = Live::default();
        for r in records {
            let size = r.frame().len() as u64;
            live.apply(r, size);
        }
        let restored = restored(&live);
        let writer = Writer { file: Arc::new(file), size: good as u64, live, stopped: None };
        let journal = Journal {
            dir: dir.to_owned(),
            _lock: lock,
            writer: Mutex::new(writer),
            appended: AtomicU64::new(0),
            synced: AtomicU64::new(0),
            stopped: AtomicBool::new(false),
            syncing: Mutex::new(()),
        };
        Ok((Arc::new(journal), restored))
    }

    fn lock(&self) -> MutexGuard<'_, Writer> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends a record (not yet fsynced: see [`Journal::sync`]). A failure stops the
    /// journal: every later [`Journal::sync`] reports it.
    pub fn append(&self, record: Record) {
        let mut w = self.lock();
        if w.stopped.is_some() {
            return;
        }
        let frame = record.frame();
        let path = self.dir.join(JOURNAL);
        if let Err(e) = (&*w.file).write_all(&frame) {
            tracing::error!(path = %path.display(), error = %e, "cannot append to the journal");
            self.stop(&mut w, format!("cannot append to {}: {e}", path.display()));
            return;
        }
        w.size += frame.len() as u64;
        w.live.apply(record, frame.len() as u64);
        self.appended.fetch_add(1, Ordering::SeqCst);
        if w.size > COMPACT_MIN
            && w.size > 2 * w.live.bytes
            && let Err(e) = self.rewrite(&mut w)
        {
            tracing::error!(error = %e, "cannot compact the journal");
            self.stop(&mut w, e.to_string());
        }
    }

    fn stop(&self, w: &mut Writer, why: String) {
        w.stopped = Some(why);
        self.stopped.store(true, Ordering::SeqCst);
    }

    /// Whether some appended record is not yet known to be on disk (or a write
    /// failed, which [`Journal::sync`] reports).
    pub fn dirty(&self) -> bool {
        self.stopped.load(Ordering::SeqCst) || self.synced.load(Ordering::SeqCst) < self.appended.load(Ordering::SeqCst)
    }

    /// Makes every record appended so far durable (fsync).
    pub fn sync(&self) -> Result<()> {
        let _one_at_a_time = self.syncing.lock().unwrap_or_else(PoisonError::into_inner);
        let (file, target) = {
            let w = self.lock();
            if let Some(why) = &w.stopped {
                return Err(Error::Stopped(why.clone()));
            }
            (w.file.clone(), self.appended.load(Ordering::SeqCst))
        };
        if self.synced.load(Ordering::SeqCst) >= target {
            return Ok(());
        }
        let path = self.dir.join(JOURNAL);
        if let Err(e) = file.sync_data() {
            self.stop(&mut self.lock(), format!("cannot sync {}: {e}", path.display()));
            return Err(io("sync", &path)(e));
        }
        self.synced.fetch_max(target, Ordering::SeqCst);
        Ok(())
    }

    /// Rewrites the journal as the live state only.
    pub fn compact(&self) -> Result<()> {
        let mut w = self.lock();
        if let Some(why) = &w.stopped {
            return Err(Error::Stopped(why.clone()));
        }
        self.rewrite(&mut w)
    }

    fn rewrite(&self, w: &mut Writer) -> Result<()> {
        let tmp = self.dir.join(COMPACTING);
        let path = self.dir.join(JOURNAL);
        let mut out = Vec::with_capacity(usize::try_from(w.live.bytes).unwrap_or(0) + 16);
        out.extend(Record::Version { rv: w.live.rv }.frame());
        for (record, _) in w.live.records.values() {
            out.extend(record.frame());
        }
        let mut file = File::create(&tmp).map_err(io("create", &tmp))?;
        file.write_all(&out).map_err(io("write", &tmp))?;
        file.sync_all().map_err(io("sync", &tmp))?;
        std::fs::rename(&tmp, &path).map_err(io("rename", &tmp))?;
        sync_dir(&self.dir)?;
        w.file = Arc::new(open_append(&path)?);
        w.size = out.len() as u64;
        // Everything appended so far is in the file just synced.
        self.synced.fetch_max(self.appended.load(Ordering::SeqCst), Ordering::SeqCst);
        Ok(())
    }

    /// Bytes the journal file holds now.
    pub fn size(&self) -> u64 {
        self.lock().size
    }
}

fn restored(live: &Live) -> Restored {
    let mut out = Restored { rv: live.rv, ..Restored::default() };
    for (record, _) in live.records.values() {
        match record {
            Record::Object { kind, json, .. } => out.objects.push((kind.clone(), json.clone())),
            Record::File { volume, path, modified, data } => {
                out.volumes.entry(volume.clone()).or_default().push(VolumeEntry { path: path.clone(), modified: *modified, data: Some(data.clone()) })
            }
            Record::Dir { volume, path, modified } => {
                out.volumes.entry(volume.clone()).or_default().push(VolumeEntry { path: path.clone(), modified: *modified, data: None })
            }
            Record::Deleted { .. } | Record::Removed { .. } | Record::VolumeGone { .. } | Record::Version { .. } => {}
        }
    }
    out
}

/// One PersistentVolume's view of the journal: what its filesystem reports changes to.
#[derive(Clone, Debug)]
pub struct VolumeJournal {
    journal: Arc<Journal>,
    volume: String,
}

impl VolumeJournal {
    /// The journal of volume `volume`.
    pub fn new(journal: Arc<Journal>, volume: &str) -> Self {
        VolumeJournal { journal, volume: volume.to_owned() }
    }

    /// The file at `path` now holds `data`.
    pub fn file(&self, path: &str, modified: u64, data: &[u8]) {
        self.journal.append(Record::File { volume: self.volume.clone(), path: path.to_owned(), modified, data: data.to_vec() });
    }

    /// The directory at `path` exists.
    pub fn dir(&self, path: &str, modified: u64) {
        self.journal.append(Record::Dir { volume: self.volume.clone(), path: path.to_owned(), modified });
    }

    /// `path` and everything below it are gone.
    pub fn removed(&self, path: &str) {
        self.journal.append(Record::Removed { volume: self.volume.clone(), path: path.to_owned() });
    }

    /// The whole volume is gone.
    pub fn gone(&self) {
        self.journal.append(Record::VolumeGone { volume: self.volume.clone() });
    }
}

#[cfg(test)]
mod tests;
