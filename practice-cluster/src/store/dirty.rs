//! Which objects of a kind changed since a controller last looked: what an informer's
//! work queue is in a real controller, so a pass handles the objects that changed
//! instead of rescanning every object.

use std::collections::HashSet;
use std::sync::Mutex;

/// An object's `(namespace, name)`.
pub type Key = (String, String);

/// The keys of the objects written since the last [`Dirty::take`]. Every write to the
/// collection it was made by adds its key; a key is kept once however often it changed.
#[derive(Debug, Default)]
pub struct Dirty {
    keys: Mutex<HashSet<Key>>,
}

impl Dirty {
    pub(crate) fn mark(&self, key: &Key) {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if !keys.contains(key) {
            keys.insert(key.clone());
        }
    }

    /// The keys written since the last call, emptying the set.
    pub fn take(&self) -> HashSet<Key> {
        std::mem::take(&mut *self.keys.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
