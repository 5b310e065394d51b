//! In-memory filesystems for simulated containers and volumes.
//!
//! An [`Fs`] is a cheap, cloneable handle to one tree of directories and files; clones
//! share the same tree, so a PersistentVolume's filesystem can be mounted by a pod and
//! keep its data after the pod is gone. A [`MountTable`] is one container's view: a root
//! filesystem plus volumes mounted at paths, resolved by longest matching prefix.
//!
//! Paths are absolute and `/`-separated; `.`, `..` and repeated slashes are normalized
//! lexically (there are no symlinks). Errors display as the text coreutils and busybox
//! print after a path, e.g. `No such file or directory`.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use crate::clock::Clock;
use crate::durable::{VolumeEntry, VolumeJournal};

/// Longest path accepted, in bytes (Linux's `PATH_MAX`).
pub const PATH_MAX: usize = 4096;

/// File content a new [`Fs`] holds at most, in bytes, unless built with
/// [`Fs::with_capacity`].
pub const DEFAULT_CAPACITY: u64 = 64 * 1024 * 1024;

/// The size `ls -l` shows for a directory.
const DIR_SIZE: u64 = 4096;

/// Why a filesystem operation failed; displays as the matching `strerror` text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
pub enum FsError {
    /// `ENOENT`: the path or one of its parents does not exist.
    #[error("No such file or directory")]
    NotFound,
    /// `EISDIR`: a file operation was applied to a directory.
    #[error("Is a directory")]
    IsADirectory,
    /// `ENOTDIR`: a directory operation was applied to a file, or a parent is a file.
    #[error("Not a directory")]
    NotADirectory,
    /// `EEXIST`: the path already exists.
    #[error("File exists")]
    AlreadyExists,
    /// `EROFS`: the path is on a read-only mount.
    #[error("Read-only file system")]
    ReadOnly,
    /// `ENOTEMPTY`: a directory to remove still has entries.
    #[error("Directory not empty")]
    NotEmpty,
    /// `EBUSY`: the path is a mount point (or the root) and cannot be removed.
    #[error("Device or resource busy")]
    Busy,
    /// `ENAMETOOLONG`: the path is longer than [`PATH_MAX`].
    #[error("File name too long")]
    NameTooLong,
    /// `ENOSPC`: the filesystem's capacity would be exceeded.
    #[error("No space left on device")]
    NoSpace,
    /// `EINVAL`: e.g. moving a directory into itself.
    #[error("Invalid argument")]
    InvalidArgument,
}

/// One directory entry, or the metadata of one path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The last path component (`/` for a filesystem's root).
    pub name: String,
    /// Whether this is a directory.
    pub is_dir: bool,
    /// Content length for a file; 4096 for a directory, as `ls -l` shows.
    pub size: u64,
    /// When the entry was last modified.
    pub modified: SystemTime,
}

/// Normalizes an absolute path: resolves `.` and `..` lexically, collapses repeated
/// slashes and drops a trailing slash. A relative input is treated as relative to `/`.
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        return "/".to_string();
    }
    let mut out = String::with_capacity(path.len() + 1);
    for part in parts {
        out.push('/');
        out.push_str(part);
    }
    out
}

/// Joins `path` onto the working directory `cwd` (unless it is absolute) and normalizes
/// the result.
pub fn resolve(cwd: &str, path: &str) -> String {
    if path.starts_with('/') { normalize(path) } else { normalize(&format!("{cwd}/{path}")) }
}

/// The parent of a normalized path, or `None` for `/`.
pub fn parent(path: &str) -> Option<&str> {
    if path == "/" {
        return None;
    }
    match path.rfind('/') {
        Some(0) | None => Some("/"),
        Some(i) => path.get(..i),
    }
}

/// The last component of a normalized path (`/` for the root).
pub fn file_name(path: &str) -> &str {
    if path == "/" {
        return "/";
    }
    path.rsplit('/').next().unwrap_or(path)
}

/// `dir` joined with one entry `name`.
pub fn join(dir: &str, name: &str) -> String {
    if dir == "/" { format!("/{name}") } else { format!("{dir}/{name}") }
}

/// Normalizes `path`, rejecting one longer than [`PATH_MAX`].
fn checked(path: &str) -> Result<String, FsError> {
    if path.len() > PATH_MAX {
        return Err(FsError::NameTooLong);
    }
    Ok(normalize(path))
}

/// If `path` is `mount` or lies below it, the rest of `path` as a path inside the mount.
fn strip_mount(path: &str, mount: &str) -> Option<String> {
    if mount == "/" {
        return Some(path.to_string());
    }
    if path == mount {
        return Some("/".to_string());
    }
    let rest = path.strip_prefix(mount)?;
    rest.starts_with('/').then(|| rest.to_string())
}

#[derive(Debug, Clone)]
enum Node {
    Dir { modified: SystemTime },
    File { data: Vec<u8>, modified: SystemTime },
}

impl Node {
    fn is_dir(&self) -> bool {
        matches!(self, Node::Dir { .. })
    }

    fn entry(&self, name: &str) -> Entry {
        match self {
            Node::Dir { modified } => Entry { name: name.to_string(), is_dir: true, size: DIR_SIZE, modified: *modified },
            Node::File { data, modified } => Entry { name: name.to_string(), is_dir: false, size: data.len() as u64, modified: *modified },
        }
    }

    fn touch(&mut self, now: SystemTime) {
        match self {
            Node::Dir { modified } | Node::File { modified, .. } => *modified = now,
        }
    }
}

/// The tree behind an [`Fs`]: every path maps to a node, and every node's parent is a
/// directory that exists.
#[derive(Debug)]
struct Tree {
    nodes: BTreeMap<String, Node>,
    used: u64,
    capacity: u64,
    /// Where a PersistentVolume's changes are made durable (with a state directory).
    journal: Option<VolumeJournal>,
    /// The cluster's clock, which stamps modification times.
    clock: Clock,
}

/// A modification time as the journal keeps it: nanoseconds since the Unix epoch.
fn nanos(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl Tree {
    fn new(capacity: u64, clock: Clock) -> Self {
        let mut nodes = BTreeMap::new();
        nodes.insert("/".to_string(), Node::Dir { modified: SystemTime::from(clock.now()) });
        Tree { nodes, used: 0, capacity, journal: None, clock }
    }

    /// Now, on the cluster's clock.
    fn now(&self) -> SystemTime {
        SystemTime::from(self.clock.now())
    }

    /// Tells the journal what `path` is now: a file, a directory, or gone (with
    /// everything that was below it).
    fn persist(&self, path: &str) {
        let Some(journal) = &self.journal else { return };
        match self.nodes.get(path) {
            Some(Node::File { data, modified }) => journal.file(path, nanos(*modified), data),
            Some(Node::Dir { modified }) => journal.dir(path, nanos(*modified)),
            None => journal.removed(path),
        }
    }

    /// Checks that every proper ancestor of `path` exists and is a directory.
    fn check_ancestors(&self, path: &str) -> Result<(), FsError> {
        for (i, _) in path.match_indices('/').skip(1) {
            let Some(ancestor) = path.get(..i) else {
                continue;
            };
            match self.nodes.get(ancestor) {
                None => return Err(FsError::NotFound),
                Some(Node::File { .. }) => return Err(FsError::NotADirectory),
                Some(Node::Dir { .. }) => {}
            }
        }
        Ok(())
    }

    fn lookup(&self, path: &str) -> Result<&Node, FsError> {
        match self.nodes.get(path) {
            Some(node) => Ok(node),
            None => {
                self.check_ancestors(path)?;
                Err(FsError::NotFound)
            }
        }
    }

    fn prefix(dir: &str) -> String {
        if dir == "/" { "/".to_string() } else { format!("{dir}/") }
    }

    fn has_children(&self, dir: &str) -> bool {
        let prefix = Self::prefix(dir);
        self.nodes.range(prefix.clone()..).find(|(k, _)| k.as_str() != dir).is_some_and(|(k, _)| k.starts_with(&prefix))
    }

    fn children(&self, dir: &str) -> Vec<Entry> {
        let prefix = Self::prefix(dir);
        let mut out: Vec<Entry> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(k, node)| {
                let name = k.get(prefix.len()..)?;
                (!name.is_empty() && !name.contains('/')).then(|| node.entry(name))
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    fn bump_parent(&mut self, path: &str) {
        let now = self.now();
        if let Some(p) = parent(path)
            && let Some(node) = self.nodes.get_mut(p)
        {
            node.touch(now);
            self.persist(p);
        }
    }

    fn put_file(&mut self, path: &str, data: Vec<u8>, append: bool) -> Result<(), FsError> {
        if path == "/" {
            return Err(FsError::IsADirectory);
        }
        let old_len = match self.nodes.get(path) {
            Some(Node::Dir { .. }) => return Err(FsError::IsADirectory),
            Some(Node::File { data, .. }) => data.len() as u64,
            None => {
                self.check_ancestors(path)?;
                0
            }
        };
        let new_len = if append { old_len.saturating_add(data.len() as u64) } else { data.len() as u64 };
        let used = self.used.saturating_sub(old_len).saturating_add(new_len);
        if used > self.capacity {
            return Err(FsError::NoSpace);
        }
        self.used = used;
        let now = self.now();
        match self.nodes.get_mut(path) {
            Some(Node::File { data: existing, modified }) => {
                if append {
                    existing.extend_from_slice(&data);
                } else {
                    *existing = data;
                }
                *modified = now;
            }
            _ => {
                self.nodes.insert(path.to_string(), Node::File { data, modified: now });
                self.bump_parent(path);
            }
        }
        self.persist(path);
        Ok(())
    }

    fn remove_subtree(&mut self, path: &str) {
        let prefix = Self::prefix(path);
        let keys: Vec<String> =
            self.nodes.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)).map(|(k, _)| k.clone()).filter(|k| k != "/").collect();
        for key in keys {
            if let Some(Node::File { data, .. }) = self.nodes.remove(&key) {
                self.used = self.used.saturating_sub(data.len() as u64);
            }
        }
    }
}

/// A shared in-memory filesystem: directories and files holding bytes.
///
/// Cloning gives another handle to the same tree.
#[derive(Clone)]
pub struct Fs {
    inner: Arc<Mutex<Tree>>,
}

impl fmt::Debug for Fs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tree = self.lock();
        f.debug_struct("Fs").field("entries", &tree.nodes.len()).field("used", &tree.used).field("capacity", &tree.capacity).finish()
    }
}

impl Default for Fs {
    fn default() -> Self {
        Self::new()
    }
}

impl Fs {
    /// An empty filesystem (just `/`) holding up to [`DEFAULT_CAPACITY`] bytes.
    pub fn new() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }

    /// An empty filesystem holding up to `capacity` bytes of file content.
    pub fn with_capacity(capacity: u64) -> Self {
        Fs { inner: Arc::new(Mutex::new(Tree::new(capacity, Clock::Real))) }
    }

    /// An empty filesystem whose modification times come from `clock` (the cluster's).
    pub fn on_clock(clock: &Clock) -> Self {
        Fs { inner: Arc::new(Mutex::new(Tree::new(DEFAULT_CAPACITY, clock.clone()))) }
    }

    /// An empty filesystem on `clock` whose every change is appended to `journal`.
    pub fn journaled(journal: VolumeJournal, clock: &Clock) -> Self {
        Self::restored(&[], journal, clock)
    }

    /// A filesystem holding what a state directory kept of it (`entries` in path
    /// order), on `clock`, whose later changes are appended to `journal`.
    pub fn restored(entries: &[VolumeEntry], journal: VolumeJournal, clock: &Clock) -> Self {
        let mut tree = Tree::new(DEFAULT_CAPACITY, clock.clone());
        for e in entries {
            let modified = SystemTime::UNIX_EPOCH + Duration::from_nanos(e.modified);
            let node = match &e.data {
                Some(data) => Node::File { data: data.clone(), modified },
                None => Node::Dir { modified },
            };
            // An entry whose parent is missing or a file would break the tree's invariant.
            if e.path == "/" || !e.path.starts_with('/') || tree.check_ancestors(&e.path).is_err() {
                if e.path == "/" && node.is_dir() {
                    tree.nodes.insert(e.path.clone(), node);
                }
                continue;
            }
            if let Node::File { data, .. } = &node {
                tree.used = tree.used.saturating_add(data.len() as u64);
            }
            tree.nodes.insert(e.path.clone(), node);
        }
        tree.journal = Some(journal);
        Fs { inner: Arc::new(Mutex::new(tree)) }
    }

    /// Stops appending this filesystem's changes to its journal (its volume was
    /// deleted; a pod may still hold it until it stops).
    pub fn forget_journal(&self) -> Option<VolumeJournal> {
        self.lock().journal.take()
    }

    fn lock(&self) -> MutexGuard<'_, Tree> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether `self` and `other` are handles to the same tree.
    pub fn same_as(&self, other: &Fs) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Bytes of file content stored.
    pub fn used(&self) -> u64 {
        self.lock().used
    }

    /// The contents of the file at `path`.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, FsError> {
        let path = checked(path)?;
        match self.lock().lookup(&path)? {
            Node::Dir { .. } => Err(FsError::IsADirectory),
            Node::File { data, .. } => Ok(data.clone()),
        }
    }

    /// Creates or truncates the file at `path` and writes `data` to it. The parent
    /// directory must exist.
    pub fn write(&self, path: &str, data: impl Into<Vec<u8>>) -> Result<(), FsError> {
        let path = checked(path)?;
        self.lock().put_file(&path, data.into(), false)
    }

    /// Appends `data` to the file at `path`, creating it if missing.
    pub fn append(&self, path: &str, data: &[u8]) -> Result<(), FsError> {
        let path = checked(path)?;
        self.lock().put_file(&path, data.to_vec(), true)
    }

    /// Reads the file at `path` (`None` when it does not exist) and, if `f` returns new
    /// contents, writes them, all under the filesystem's lock: no other writer can come
    /// between the read and the write (a read-modify-write such as a counter).
    pub fn update<T>(&self, path: &str, f: impl FnOnce(Option<&[u8]>) -> (Option<Vec<u8>>, T)) -> Result<T, FsError> {
        let path = checked(path)?;
        let mut tree = self.lock();
        let current = match tree.lookup(&path) {
            Ok(Node::Dir { .. }) => return Err(FsError::IsADirectory),
            Ok(Node::File { data, .. }) => Some(data.as_slice()),
            Err(FsError::NotFound) => None,
            Err(e) => return Err(e),
        };
        let (contents, out) = f(current);
        if let Some(contents) = contents {
            tree.put_file(&path, contents, false)?;
        }
        Ok(out)
    }

    /// Creates an empty file at `path`, or updates the modification time of an existing
    /// file or directory.
    pub fn touch(&self, path: &str) -> Result<(), FsError> {
        let path = checked(path)?;
        let mut tree = self.lock();
        let now = tree.now();
        if let Some(node) = tree.nodes.get_mut(&path) {
            node.touch(now);
            tree.persist(&path);
            return Ok(());
        }
        tree.put_file(&path, Vec::new(), true)
    }

    /// Creates the directory `path`; its parent must exist.
    pub fn create_dir(&self, path: &str) -> Result<(), FsError> {
        let path = checked(path)?;
        let mut tree = self.lock();
        if tree.nodes.contains_key(&path) {
            return Err(FsError::AlreadyExists);
        }
        tree.check_ancestors(&path)?;
        let modified = tree.now();
        tree.nodes.insert(path.clone(), Node::Dir { modified });
        tree.persist(&path);
        tree.bump_parent(&path);
        Ok(())
    }

    /// Creates the directory `path` and any missing parents, like `mkdir -p`.
    pub fn create_dir_all(&self, path: &str) -> Result<(), FsError> {
        let path = checked(path)?;
        let mut tree = self.lock();
        let mut current = String::new();
        let components: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        let last = components.len();
        for (i, component) in components.into_iter().enumerate() {
            current.push('/');
            current.push_str(component);
            match tree.nodes.get(&current) {
                Some(Node::Dir { .. }) => {}
                Some(Node::File { .. }) if i + 1 == last => return Err(FsError::AlreadyExists),
                Some(Node::File { .. }) => return Err(FsError::NotADirectory),
                None => {
                    let modified = tree.now();
                    tree.nodes.insert(current.clone(), Node::Dir { modified });
                    tree.persist(&current);
                    tree.bump_parent(&current);
                }
            }
        }
        Ok(())
    }

    /// Removes the file at `path` (not a directory).
    pub fn remove_file(&self, path: &str) -> Result<(), FsError> {
        let path = checked(path)?;
        let mut tree = self.lock();
        if tree.lookup(&path)?.is_dir() {
            return Err(FsError::IsADirectory);
        }
        if let Some(Node::File { data, .. }) = tree.nodes.remove(&path) {
            tree.used = tree.used.saturating_sub(data.len() as u64);
        }
        tree.persist(&path);
        tree.bump_parent(&path);
        Ok(())
    }

    /// Removes the empty directory at `path`.
    pub fn remove_dir(&self, path: &str) -> Result<(), FsError> {
        let path = checked(path)?;
        let mut tree = self.lock();
        if !tree.lookup(&path)?.is_dir() {
            return Err(FsError::NotADirectory);
        }
        if path == "/" {
            return Err(FsError::Busy);
        }
        if tree.has_children(&path) {
            return Err(FsError::NotEmpty);
        }
        tree.nodes.remove(&path);
        tree.persist(&path);
        tree.bump_parent(&path);
        Ok(())
    }

    /// Removes `path` and everything below it, like `rm -r`. Removing `/` empties the
    /// filesystem but keeps the root directory.
    pub fn remove_all(&self, path: &str) -> Result<(), FsError> {
        let path = checked(path)?;
        let mut tree = self.lock();
        tree.lookup(&path)?;
        tree.remove_subtree(&path);
        if path == "/" {
            if let Some(journal) = &tree.journal {
                journal.removed("/");
            }
        } else {
            if let Some(Node::File { data, .. }) = tree.nodes.remove(&path) {
                tree.used = tree.used.saturating_sub(data.len() as u64);
            }
            tree.persist(&path);
            tree.bump_parent(&path);
        }
        Ok(())
    }

    /// The entries of the directory at `path`, sorted by name.
    pub fn list(&self, path: &str) -> Result<Vec<Entry>, FsError> {
        let path = checked(path)?;
        let tree = self.lock();
        if !tree.lookup(&path)?.is_dir() {
            return Err(FsError::NotADirectory);
        }
        Ok(tree.children(&path))
    }

    /// The metadata of `path`.
    pub fn stat(&self, path: &str) -> Result<Entry, FsError> {
        let path = checked(path)?;
        let tree = self.lock();
        Ok(tree.lookup(&path)?.entry(file_name(&path)))
    }

    /// Whether `path` exists.
    pub fn exists(&self, path: &str) -> bool {
        self.stat(path).is_ok()
    }

    /// Whether `path` is a directory.
    pub fn is_dir(&self, path: &str) -> bool {
        self.stat(path).is_ok_and(|e| e.is_dir)
    }

    /// Whether `path` is a file.
    pub fn is_file(&self, path: &str) -> bool {
        self.stat(path).is_ok_and(|e| !e.is_dir)
    }
}

/// One filesystem mounted into a container.
#[derive(Debug, Clone)]
pub struct Mount {
    /// The normalized container path it is mounted at.
    pub path: String,
    /// The mounted filesystem.
    pub fs: Fs,
    /// Whether writes through this mount fail with [`FsError::ReadOnly`].
    pub read_only: bool,
}

/// Where a container path lands: which filesystem, and the path inside it.
#[derive(Debug, Clone)]
pub struct Location<'a> {
    /// The filesystem holding the path.
    pub fs: &'a Fs,
    /// The path inside `fs`.
    pub path: String,
    /// Whether the mount is read-only.
    pub read_only: bool,
    /// The container path of the mount (`/` for the root filesystem).
    pub mount_point: &'a str,
}

/// A container's view of its filesystems: a root [`Fs`] plus volumes mounted at paths.
///
/// Every method takes a container path (absolute; see [`resolve`] for relative ones) and
/// acts on the filesystem whose mount point is the longest prefix of it.
#[derive(Debug, Clone)]
pub struct MountTable {
    root: Fs,
    root_read_only: bool,
    mounts: Vec<Mount>,
}

impl MountTable {
    /// A view of just `root`, writable.
    pub fn new(root: Fs) -> Self {
        MountTable { root, root_read_only: false, mounts: Vec::new() }
    }

    /// Mounts `fs` at container path `path`, replacing any mount already there, and
    /// creates the mount point directory in the filesystem underneath (as a runtime
    /// does). Mounting at `/` replaces the root filesystem.
    pub fn mount(&mut self, path: &str, fs: Fs, read_only: bool) {
        let path = normalize(path);
        if path == "/" {
            self.root = fs;
            self.root_read_only = read_only;
            return;
        }
        self.mounts.retain(|m| m.path != path);
        let under = self.locate(&path);
        // Best effort: a missing mount point only shows up as a synthesized directory.
        let _ = under.fs.create_dir_all(&under.path);
        self.mounts.push(Mount { path, fs, read_only });
    }

    /// [`MountTable::mount`] in builder style.
    pub fn with_mount(mut self, path: &str, fs: Fs, read_only: bool) -> Self {
        self.mount(path, fs, read_only);
        self
    }

    /// Makes the root filesystem read-only (`readOnlyRootFilesystem`) or writable.
    pub fn set_root_read_only(&mut self, read_only: bool) {
        self.root_read_only = read_only;
    }

    /// The root filesystem.
    pub fn root(&self) -> &Fs {
        &self.root
    }

    /// Whether the root filesystem is read-only.
    pub fn root_read_only(&self) -> bool {
        self.root_read_only
    }

    /// The mounts besides the root, in the order they were made.
    pub fn mounts(&self) -> &[Mount] {
        &self.mounts
    }

    /// Whether `path` is exactly a mount point (other than `/`).
    pub fn is_mount_point(&self, path: &str) -> bool {
        let path = normalize(path);
        self.mounts.iter().any(|m| m.path == path)
    }

    /// The filesystem holding container path `path`, chosen by longest mount prefix.
    pub fn locate(&self, path: &str) -> Location<'_> {
        let path = normalize(path);
        let mut best = Location { fs: &self.root, path: path.clone(), read_only: self.root_read_only, mount_point: "/" };
        let mut best_len = 0;
        for mount in &self.mounts {
            if mount.path.len() > best_len
                && let Some(inner) = strip_mount(&path, &mount.path)
            {
                best_len = mount.path.len();
                best = Location { fs: &mount.fs, path: inner, read_only: mount.read_only, mount_point: &mount.path };
            }
        }
        best
    }

    /// Names of the entries of `dir` that lead to mount points below it.
    fn mount_children(&self, dir: &str) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for mount in &self.mounts {
            if mount.path == dir {
                continue;
            }
            if let Some(rest) = strip_mount(&mount.path, dir)
                && let Some(first) = rest.split('/').find(|c| !c.is_empty())
                && !names.iter().any(|n| n == first)
            {
                names.push(first.to_string());
            }
        }
        names
    }

    /// The metadata of `path`; directories leading to mount points exist even when the
    /// filesystem underneath lacks them.
    pub fn stat(&self, path: &str) -> Result<Entry, FsError> {
        let path = checked(path)?;
        let loc = self.locate(&path);
        match loc.fs.stat(&loc.path) {
            Ok(mut entry) => {
                entry.name = file_name(&path).to_string();
                Ok(entry)
            }
            Err(err) => {
                if self.mount_children(&path).is_empty() {
                    return Err(err);
                }
                let modified = loc.fs.stat("/").map(|e| e.modified).unwrap_or_else(|_| loc.fs.lock().now());
                Ok(Entry { name: file_name(&path).to_string(), is_dir: true, size: DIR_SIZE, modified })
            }
        }
    }

    /// The entries of directory `path`, sorted by name, including mount points below it.
    pub fn list(&self, path: &str) -> Result<Vec<Entry>, FsError> {
        let path = checked(path)?;
        let loc = self.locate(&path);
        let extra = self.mount_children(&path);
        let mut entries = match loc.fs.list(&loc.path) {
            Ok(entries) => entries,
            Err(err) if extra.is_empty() => return Err(err),
            Err(_) => Vec::new(),
        };
        for name in extra {
            let entry = self.stat(&join(&path, &name))?;
            match entries.iter_mut().find(|e| e.name == name) {
                Some(existing) => *existing = entry,
                None => entries.push(entry),
            }
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    /// Whether `path` exists.
    pub fn exists(&self, path: &str) -> bool {
        self.stat(path).is_ok()
    }

    /// Whether `path` is a directory.
    pub fn is_dir(&self, path: &str) -> bool {
        self.stat(path).is_ok_and(|e| e.is_dir)
    }

    /// Whether `path` is a file.
    pub fn is_file(&self, path: &str) -> bool {
        self.stat(path).is_ok_and(|e| !e.is_dir)
    }

    /// The contents of file `path`.
    pub fn read(&self, path: &str) -> Result<Vec<u8>, FsError> {
        let path = checked(path)?;
        if !self.mount_children(&path).is_empty() {
            return Err(FsError::IsADirectory);
        }
        let loc = self.locate(&path);
        loc.fs.read(&loc.path)
    }

    /// The location of `path` for a write, failing on a read-only mount.
    fn writable(&self, path: &str) -> Result<Location<'_>, FsError> {
        let loc = self.locate(path);
        if loc.read_only { Err(FsError::ReadOnly) } else { Ok(loc) }
    }

    /// Creates or truncates file `path` and writes `data` to it.
    pub fn write(&self, path: &str, data: impl Into<Vec<u8>>) -> Result<(), FsError> {
        let path = checked(path)?;
        if self.is_dir(&path) {
            return Err(FsError::IsADirectory);
        }
        let loc = self.writable(&path)?;
        loc.fs.write(&loc.path, data)
    }

    /// [`Fs::update`] on container path `path`: an atomic read-modify-write of one file.
    pub fn update<T>(&self, path: &str, f: impl FnOnce(Option<&[u8]>) -> (Option<Vec<u8>>, T)) -> Result<T, FsError> {
        let path = checked(path)?;
        if self.is_dir(&path) {
            return Err(FsError::IsADirectory);
        }
        let loc = self.writable(&path)?;
        loc.fs.update(&loc.path, f)
    }

    /// Appends `data` to file `path`, creating it if missing.
    pub fn append(&self, path: &str, data: &[u8]) -> Result<(), FsError> {
        let path = checked(path)?;
        if self.is_dir(&path) {
            return Err(FsError::IsADirectory);
        }
        let loc = self.writable(&path)?;
        loc.fs.append(&loc.path, data)
    }

    /// Creates empty file `path` or updates its modification time.
    pub fn touch(&self, path: &str) -> Result<(), FsError> {
        let path = checked(path)?;
        let loc = self.writable(&path)?;
        if !loc.fs.exists(&loc.path) && self.is_dir(&path) {
            // A synthesized directory leading to a mount point.
            return Ok(());
        }
        loc.fs.touch(&loc.path)
    }

    /// Creates directory `path`; its parent must exist.
    pub fn create_dir(&self, path: &str) -> Result<(), FsError> {
        let path = checked(path)?;
        if self.exists(&path) {
            return Err(FsError::AlreadyExists);
        }
        let loc = self.writable(&path)?;
        loc.fs.create_dir(&loc.path)
    }

    /// Creates directory `path` and missing parents; an existing directory is fine.
    pub fn create_dir_all(&self, path: &str) -> Result<(), FsError> {
        let path = checked(path)?;
        match self.stat(&path) {
            Ok(entry) if entry.is_dir => return Ok(()),
            Ok(_) => return Err(FsError::AlreadyExists),
            Err(_) => {}
        }
        let loc = self.writable(&path)?;
        loc.fs.create_dir_all(&loc.path)
    }

    /// Removes file `path`.
    pub fn remove_file(&self, path: &str) -> Result<(), FsError> {
        let path = checked(path)?;
        if self.stat(&path)?.is_dir {
            return Err(FsError::IsADirectory);
        }
        let loc = self.writable(&path)?;
        loc.fs.remove_file(&loc.path)
    }

    /// Removes empty directory `path`; a mount point is busy.
    pub fn remove_dir(&self, path: &str) -> Result<(), FsError> {
        let path = checked(path)?;
        if !self.stat(&path)?.is_dir {
            return Err(FsError::NotADirectory);
        }
        if path == "/" || self.is_mount_point(&path) {
            return Err(FsError::Busy);
        }
        if !self.mount_children(&path).is_empty() {
            return Err(FsError::NotEmpty);
        }
        let loc = self.writable(&path)?;
        loc.fs.remove_dir(&loc.path)
    }

    /// Removes `path` and everything below it, crossing into mounts below it like
    /// `rm -rf`: their contents are removed, the mount points themselves are busy.
    /// Keeps going after a failure and returns the first error.
    pub fn remove_all(&self, path: &str) -> Result<(), FsError> {
        let path = checked(path)?;
        self.stat(&path)?;
        let mut first_error: Option<FsError> = None;
        // Explicit stack, so deep trees cannot overflow the call stack.
        let mut stack: Vec<(String, bool)> = vec![(path, false)];
        while let Some((current, visited)) = stack.pop() {
            let result = if visited {
                self.remove_dir(&current)
            } else {
                match self.stat(&current) {
                    Ok(entry) if entry.is_dir => match self.list(&current) {
                        Ok(children) => {
                            stack.push((current.clone(), true));
                            for child in children.into_iter().rev() {
                                stack.push((join(&current, &child.name), false));
                            }
                            Ok(())
                        }
                        Err(err) => Err(err),
                    },
                    Ok(_) => self.remove_file(&current),
                    Err(err) => Err(err),
                }
            };
            if let Err(err) = result {
                // Children go first, so a parent's "not empty" never hides their error.
                first_error.get_or_insert(err);
            }
        }
        match first_error {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_and_resolve() {
        assert_eq!(normalize("/"), "/");
        assert_eq!(normalize(""), "/");
        assert_eq!(normalize("//a///b/"), "/a/b");
        assert_eq!(normalize("/a/./b/../c"), "/a/c");
        assert_eq!(normalize("/../.."), "/");
        assert_eq!(resolve("/data", "visits"), "/data/visits");
        assert_eq!(resolve("/data/", "./x/../visits"), "/data/visits");
        assert_eq!(resolve("/data", "/etc/hosts"), "/etc/hosts");
        assert_eq!(resolve("/data", ".."), "/");
        assert_eq!(resolve("/data", ""), "/data");
    }

    #[test]
    fn path_helpers() {
        assert_eq!(parent("/"), None);
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(file_name("/a/b"), "b");
        assert_eq!(file_name("/"), "/");
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
    }

    #[test]
    fn write_read_append() {
        let fs = Fs::new();
        fs.write("/visits", "5\n").expect("write");
        assert_eq!(fs.read("/visits").expect("read"), b"5\n");
        fs.append("/visits", b"6\n").expect("append");
        assert_eq!(fs.read("//visits").expect("read"), b"5\n6\n");
        fs.write("/visits", "7").expect("overwrite");
        assert_eq!(fs.read("/visits").expect("read"), b"7");
        fs.append("/new", b"x").expect("append creates");
        assert_eq!(fs.read("/new").expect("read"), b"x");
        assert_eq!(fs.used(), 2);
    }

    #[test]
    fn errors_match_strerror() {
        let fs = Fs::new();
        fs.write("/file", "x").expect("write");
        fs.create_dir("/dir").expect("mkdir");
        assert_eq!(fs.read("/missing"), Err(FsError::NotFound));
        assert_eq!(fs.read("/dir"), Err(FsError::IsADirectory));
        assert_eq!(fs.read("/file/x"), Err(FsError::NotADirectory));
        assert_eq!(fs.write("/nodir/x", "1"), Err(FsError::NotFound));
        assert_eq!(fs.write("/dir", "1"), Err(FsError::IsADirectory));
        assert_eq!(fs.create_dir("/dir"), Err(FsError::AlreadyExists));
        assert_eq!(fs.create_dir("/a/b"), Err(FsError::NotFound));
        assert_eq!(fs.list("/file"), Err(FsError::NotADirectory));
        assert_eq!(FsError::NotFound.to_string(), "No such file or directory");
        assert_eq!(FsError::IsADirectory.to_string(), "Is a directory");
        assert_eq!(FsError::NotADirectory.to_string(), "Not a directory");
        assert_eq!(FsError::AlreadyExists.to_string(), "File exists");
        assert_eq!(FsError::ReadOnly.to_string(), "Read-only file system");
    }

    #[test]
    fn create_dir_all_and_list() {
        let fs = Fs::new();
        fs.create_dir_all("/a/b/c").expect("mkdir -p");
        fs.create_dir_all("/a/b").expect("existing is fine");
        fs.write("/a/z", "zz").expect("write");
        fs.write("/a/b.txt", "t").expect("write");
        let names: Vec<_> = fs.list("/a").expect("list").into_iter().map(|e| (e.name, e.is_dir, e.size)).collect();
        assert_eq!(names, vec![("b".to_string(), true, 4096), ("b.txt".to_string(), false, 1), ("z".to_string(), false, 2)]);
        let root: Vec<_> = fs.list("/").expect("list").into_iter().map(|e| e.name).collect();
        assert_eq!(root, vec!["a"]);
        assert_eq!(fs.create_dir_all("/a/z"), Err(FsError::AlreadyExists));
        assert_eq!(fs.create_dir_all("/a/z/q"), Err(FsError::NotADirectory));
    }

    #[test]
    fn touch_remove() {
        let fs = Fs::new();
        fs.touch("/f").expect("touch creates");
        assert!(fs.is_file("/f"));
        fs.write("/f", "data").expect("write");
        fs.touch("/f").expect("touch keeps");
        assert_eq!(fs.read("/f").expect("read"), b"data");
        fs.create_dir_all("/d/e").expect("mkdir");
        assert_eq!(fs.remove_file("/d"), Err(FsError::IsADirectory));
        assert_eq!(fs.remove_dir("/d"), Err(FsError::NotEmpty));
        assert_eq!(fs.remove_dir("/f"), Err(FsError::NotADirectory));
        assert_eq!(fs.remove_dir("/"), Err(FsError::Busy));
        fs.remove_file("/f").expect("rm");
        assert!(!fs.exists("/f"));
        assert_eq!(fs.remove_file("/f"), Err(FsError::NotFound));
        fs.write("/d/e/x", "123").expect("write");
        fs.remove_all("/d").expect("rm -r");
        assert!(!fs.exists("/d"));
        assert!(!fs.exists("/d/e/x"));
        assert_eq!(fs.used(), 0);
        fs.write("/keep", "1").expect("write");
        fs.remove_all("/").expect("rm -r /");
        assert!(fs.is_dir("/"));
        assert!(fs.list("/").expect("list").is_empty());
    }

    #[test]
    fn similar_names_do_not_leak_into_listings() {
        let fs = Fs::new();
        fs.create_dir("/a").expect("mkdir");
        fs.create_dir("/a b").expect("mkdir");
        fs.write("/a b/x", "1").expect("write");
        fs.write("/a-c", "1").expect("write");
        assert!(fs.list("/a").expect("list").is_empty());
        assert_eq!(fs.remove_dir("/a"), Ok(()));
        assert!(fs.exists("/a b/x"));
    }

    #[test]
    fn capacity_is_enforced() {
        let fs = Fs::with_capacity(4);
        fs.write("/a", "1234").expect("fits");
        assert_eq!(fs.append("/a", b"5"), Err(FsError::NoSpace));
        fs.write("/a", "12").expect("shrink");
        fs.write("/b", "34").expect("fits again");
        assert_eq!(fs.write("/c", "5"), Err(FsError::NoSpace));
    }

    #[test]
    fn long_paths_are_rejected() {
        let fs = Fs::new();
        let long = format!("/{}", "a".repeat(PATH_MAX + 1));
        assert_eq!(fs.write(&long, "x"), Err(FsError::NameTooLong));
    }

    #[test]
    fn clones_share_data() {
        let pv = Fs::new();
        let handle = pv.clone();
        handle.write("/visits", "3").expect("write");
        assert_eq!(pv.read("/visits").expect("read"), b"3");
        assert!(pv.same_as(&handle));
        assert!(!pv.same_as(&Fs::new()));
    }

    fn table() -> (MountTable, Fs, Fs, Fs) {
        let root = Fs::new();
        root.create_dir_all("/etc").expect("mkdir");
        root.write("/etc/hostname", "web-0\n").expect("write");
        let data = Fs::new();
        let nested = Fs::new();
        let config = Fs::new();
        config.write("/app.conf", "x=1\n").expect("write");
        let table = MountTable::new(root.clone()).with_mount("/data", data.clone(), false).with_mount("/data/cache", nested.clone(), false).with_mount(
            "/etc/config",
            config,
            true,
        );
        (table, root, data, nested)
    }

    #[test]
    fn longest_prefix_wins() {
        let (table, root, data, nested) = table();
        table.write("/data/visits", "1").expect("write");
        table.write("/data/cache/x", "2").expect("write");
        table.write("/datafile", "3").expect("write");
        assert_eq!(data.read("/visits").expect("read"), b"1");
        assert_eq!(nested.read("/x").expect("read"), b"2");
        assert_eq!(root.read("/datafile").expect("read"), b"3");
        assert!(!data.exists("/cache/x"));
        let loc = table.locate("/data/cache/x/../y");
        assert_eq!(loc.mount_point, "/data/cache");
        assert_eq!(loc.path, "/y");
        assert_eq!(table.locate("/").mount_point, "/");
        assert!(table.is_mount_point("/data/"));
        assert!(!table.is_mount_point("/data/visits"));
    }

    #[test]
    fn listing_shows_mount_points() {
        let (table, _root, _data, _nested) = table();
        let names = |p: &str| -> Vec<String> { table.list(p).expect("list").into_iter().map(|e| e.name).collect() };
        assert_eq!(names("/"), vec!["data", "etc"]);
        assert_eq!(names("/data"), vec!["cache"]);
        assert_eq!(names("/etc"), vec!["config", "hostname"]);
        assert_eq!(names("/etc/config"), vec!["app.conf"]);
        assert!(table.is_dir("/data/cache"));
    }

    #[test]
    fn mount_points_synthesized_when_missing() {
        let root = Fs::new();
        let mut table = MountTable::new(root.clone());
        // Nested mount first: the outer mount's filesystem lacks the mount point.
        table.mount("/a/b", Fs::new(), false);
        let outer = Fs::new();
        table.mount("/a", outer.clone(), false);
        assert!(!outer.exists("/b"));
        assert!(table.is_dir("/a/b"));
        let names: Vec<_> = table.list("/a").expect("list").into_iter().map(|e| e.name).collect();
        assert_eq!(names, vec!["b"]);
        assert_eq!(table.read("/a/b"), Err(FsError::IsADirectory));
    }

    #[test]
    fn read_only_mounts() {
        let (mut table, _root, _data, _nested) = table();
        assert_eq!(table.read("/etc/config/app.conf").expect("read"), b"x=1\n");
        assert_eq!(table.write("/etc/config/app.conf", "y"), Err(FsError::ReadOnly));
        assert_eq!(table.append("/etc/config/new", b"y"), Err(FsError::ReadOnly));
        assert_eq!(table.touch("/etc/config/new"), Err(FsError::ReadOnly));
        assert_eq!(table.create_dir("/etc/config/d"), Err(FsError::ReadOnly));
        assert_eq!(table.remove_file("/etc/config/app.conf"), Err(FsError::ReadOnly));
        assert_eq!(table.remove_file("/etc/config/missing"), Err(FsError::NotFound));
        assert_eq!(table.create_dir_all("/etc/config"), Ok(()));
        table.set_root_read_only(true);
        assert_eq!(table.write("/tmp", "x"), Err(FsError::ReadOnly));
        table.write("/data/ok", "x").expect("volume still writable");
    }

    #[test]
    fn removing_mount_points_is_busy() {
        let (table, root, data, _nested) = table();
        table.write("/data/visits", "1").expect("write");
        table.write("/data/cache/c", "1").expect("write");
        assert_eq!(table.remove_dir("/data/cache"), Err(FsError::Busy));
        assert_eq!(table.remove_file("/data"), Err(FsError::IsADirectory));
        assert_eq!(table.remove_all("/data"), Err(FsError::Busy));
        assert!(!data.exists("/visits"));
        assert!(table.list("/data/cache").expect("list").is_empty());
        assert!(root.exists("/data"));
        table.create_dir_all("/tmp/x/y").expect("mkdir");
        table.write("/tmp/x/y/z", "1").expect("write");
        table.remove_all("/tmp").expect("rm -r");
        assert!(!table.exists("/tmp"));
        assert_eq!(table.remove_all("/tmp"), Err(FsError::NotFound));
    }

    #[test]
    fn volume_outlives_table() {
        let pv = Fs::new();
        {
            let table = MountTable::new(Fs::new()).with_mount("/data", pv.clone(), false);
            table.write("/data/visits", "9").expect("write");
        }
        let again = MountTable::new(Fs::new()).with_mount("/var/lib/app", pv, false);
        assert_eq!(again.read("/var/lib/app/visits").expect("read"), b"9".to_vec());
    }
}
