//! What the controllers' work queues ([`super::pod_queue`], [`super::set_queue`],
//! [`super::service_queue`]) have in common: keys that fall due at a time, an index of
//! which group (StatefulSet, Service) each pod belongs to, and a lock that starts over
//! after a pass panicked.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Mutex, MutexGuard};

use jiff::Timestamp;

use crate::store::Key;

/// A queue that can forget what it knows, so its next pass looks at everything.
pub trait Resync {
    /// The next pass looks at every object.
    fn resync(&mut self);
}

/// Locks `queue`. A pass that panicked may have taken work it never finished, so the
/// next pass after one looks at everything.
pub fn lock<Q: Resync>(queue: &Mutex<Q>) -> MutexGuard<'_, Q> {
    queue.lock().unwrap_or_else(|poisoned| {
        queue.clear_poison();
        let mut q = poisoned.into_inner();
        q.resync();
        q
    })
}

/// Keys to look at again at a time, earliest first; a key has at most one time.
#[derive(Debug, Default)]
pub struct DueTimes {
    due: BTreeSet<(Timestamp, Key)>,
    due_of: HashMap<Key, Timestamp>,
}

impl DueTimes {
    /// Looks at `key` again at `at` (replacing an earlier time; `None` removes it).
    pub fn set(&mut self, key: &Key, at: Option<Timestamp>) {
        if let Some(old) = self.due_of.remove(key) {
            self.due.remove(&(old, key.clone()));
        }
        if let Some(at) = at {
            self.due_of.insert(key.clone(), at);
            self.due.insert((at, key.clone()));
        }
    }

    /// Takes the keys due at or before `now` into `work`.
    pub fn take_due(&mut self, now: Timestamp, work: &mut impl Extend<Key>) {
        while let Some((at, _)) = self.due.first() {
            if *at > now {
                break;
            }
            if let Some((_, key)) = self.due.pop_first() {
                self.due_of.remove(&key);
                work.extend([key]);
            }
        }
    }

    /// When the next key falls due.
    pub fn next(&self) -> Option<Timestamp> {
        self.due.first().map(|(at, _)| *at)
    }

    /// Forgets every time.
    pub fn clear(&mut self) {
        self.due.clear();
        self.due_of.clear();
    }
}

/// Which groups (by name, in the pod's namespace) each pod belongs to, both ways.
#[derive(Debug, Default)]
pub struct Membership {
    /// Pod names by `(namespace, group)`.
    members: HashMap<Key, BTreeSet<String>>,
    /// The groups each pod `(namespace, name)` was last indexed under.
    member_of: HashMap<Key, Vec<String>>,
}

impl Membership {
    /// The names of the pods in the group `(namespace, group)`, in name order.
    pub fn members(&self, group: &Key) -> impl Iterator<Item = &String> {
        self.members.get(group).into_iter().flatten()
    }

    /// Puts the pod `key` in exactly `groups`; returns the groups it was in before and
    /// is in now (each once).
    pub fn place(&mut self, key: &Key, groups: Vec<String>) -> Vec<String> {
        let (ns, name) = key;
        let mut touched = self.member_of.remove(key).unwrap_or_default();
        for group in &touched {
            let group_key = (ns.clone(), group.clone());
            if let Some(m) = self.members.get_mut(&group_key) {
                m.remove(name);
                if m.is_empty() {
                    self.members.remove(&group_key);
                }
            }
        }
        for group in &groups {
            self.members.entry((ns.clone(), group.clone())).or_default().insert(name.clone());
            if !touched.contains(group) {
                touched.push(group.clone());
            }
        }
        if !groups.is_empty() {
            self.member_of.insert(key.clone(), groups);
        }
        touched
    }

    /// Empties the group `(namespace, group)`; its pods stay in their other groups.
    pub fn empty(&mut self, group: &Key) {
        for name in self.members.remove(group).unwrap_or_default() {
            if let Some(of) = self.member_of.get_mut(&(group.0.clone(), name)) {
                of.retain(|g| *g != group.1);
            }
        }
    }

    /// Adds the pod `name` of the group's namespace to the group.
    pub fn add(&mut self, group: &Key, name: &str) {
        self.members.entry(group.clone()).or_default().insert(name.to_owned());
        self.member_of.entry((group.0.clone(), name.to_owned())).or_default().push(group.1.clone());
    }

    /// Forgets every pod.
    pub fn clear(&mut self) {
        self.members.clear();
        self.member_of.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Key {
        ("default".to_owned(), name.to_owned())
    }

    #[test]
    fn due_keys_come_out_once_in_time_order() {
        let mut due = DueTimes::default();
        let t = |s: i64| Timestamp::from_second(s).expect("time");
        due.set(&key("a"), Some(t(20)));
        due.set(&key("b"), Some(t(10)));
        due.set(&key("a"), Some(t(5)));
        assert_eq!(due.next(), Some(t(5)));
        let mut work = Vec::new();
        due.take_due(t(10), &mut work);
        assert_eq!(work, [key("a"), key("b")]);
        assert_eq!(due.next(), None);
    }

    #[test]
    fn a_pod_moved_between_groups_touches_both() {
        let mut m = Membership::default();
        assert_eq!(m.place(&key("web-0"), vec!["web".into()]), ["web"]);
        assert_eq!(m.place(&key("web-0"), vec!["db".into()]), ["web", "db"]);
        assert_eq!(m.members(&key("web")).count(), 0);
        assert_eq!(m.members(&key("db")).collect::<Vec<_>>(), ["web-0"]);
        m.empty(&key("db"));
        assert_eq!(m.place(&key("web-0"), vec![]), Vec::<String>::new());
    }
}
