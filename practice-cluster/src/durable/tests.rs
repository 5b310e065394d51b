//! The journal on its own (reopen, torn tails, compaction), and a whole cluster
//! restored from it on a manual clock.

use std::path::PathBuf;

use super::*;

/// A fresh directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("stslab-journal-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn object(name: &str, rv: u64, json: &[u8]) -> Record {
    Record::Object { kind: "v1/Service".into(), namespace: "default".into(), name: name.into(), rv, json: json.to_vec() }
}

fn names(r: &Restored) -> Vec<String> {
    r.objects.iter().map(|(_, json)| String::from_utf8_lossy(json).into_owned()).collect()
}

#[test]
fn a_reopened_journal_holds_the_latest_state_and_version() {
    let dir = TempDir::new();
    {
        let (j, restored) = Journal::open(&dir.0, false).expect("open");
        assert!(restored.is_empty());
        j.append(object("a", 1, b"a1"));
        j.append(object("b", 2, b"b2"));
        j.append(object("a", 3, b"a3"));
        j.append(Record::Deleted { kind: "v1/Service".into(), namespace: "default".into(), name: "b".into(), rv: 4 });
        let v = VolumeJournal::new(j.clone(), "pv-1");
        v.dir("/d", 5);
        v.file("/d/visits", 6, b"7\n");
        v.file("/top", 6, b"x");
        v.removed("/d");
        v.file("/visits", 8, b"9\n");
        j.sync().expect("sync");
    }
    let (_, restored) = Journal::open(&dir.0, false).expect("reopen");
    assert_eq!(names(&restored), ["a3"]);
    assert_eq!(restored.rv, 4, "a deletion's version counts too");
    let paths: Vec<_> = restored.volumes["pv-1"].iter().map(|e| (e.path.as_str(), e.data.clone())).collect();
    assert_eq!(paths, [("/top", Some(b"x".to_vec())), ("/visits", Some(b"9\n".to_vec()))]);
}

#[test]
fn a_torn_tail_is_cut_off_and_appending_goes_on_after_it() {
    let dir = TempDir::new();
    {
        let (j, _) = Journal::open(&dir.0, false).expect("open");
        j.append(object("a", 1, b"a1"));
        j.sync().expect("sync");
    }
    let path = dir.0.join(JOURNAL);
    let whole = std::fs::read(&path).expect("read");
    let torn = object("b", 2, b"b2").frame();
    let mut bytes = whole.clone();
    bytes.extend_from_slice(&torn[..torn.len() - 1]);
    std::fs::write(&path, &bytes).expect("write torn tail");
    {
        let (j, restored) = Journal::open(&dir.0, false).expect("reopen");
        assert_eq!(names(&restored), ["a1"]);
        assert_eq!(std::fs::read(&path).expect("read").len(), whole.len(), "the torn frame is gone");
        j.append(object("c", 3, b"c3"));
        j.sync().expect("sync");
    }
    let (_, restored) = Journal::open(&dir.0, false).expect("reopen again");
    assert_eq!(names(&restored), ["a1", "c3"]);
}

#[test]
fn a_second_cluster_cannot_open_a_state_directory_in_use() {
    let dir = TempDir::new();
    let (first, _) = Journal::open(&dir.0, false).expect("open");
    let e = Journal::open(&dir.0, false).expect_err("in use");
    assert!(e.to_string().contains("is in use by another running practice cluster"), "{e}");
    assert!(Journal::open(&dir.0, true).is_err(), "not even to start it over");
    drop(first);
    Journal::open(&dir.0, false).expect("free again once the first is gone");
}

#[test]
fn fresh_starts_over() {
    let dir = TempDir::new();
    {
        let (j, _) = Journal::open(&dir.0, false).expect("open");
        j.append(object("a", 1, b"a1"));
        j.sync().expect("sync");
    }
    let (_, restored) = Journal::open(&dir.0, true).expect("fresh");
    assert!(restored.is_empty());
    assert_eq!(restored.rv, 0);
}

#[test]
fn churn_does_not_grow_the_journal() {
    let dir = TempDir::new();
    let (j, _) = Journal::open(&dir.0, false).expect("open");
    let big = vec![b'x'; 8 * 1024];
    let mut rv = 0;
    let mut churn = |times: usize| {
        for i in 0..times {
            rv += 2;
            let name = format!("pv-{i}");
            j.append(object(&name, rv - 1, &big));
            let v = VolumeJournal::new(j.clone(), &name);
            v.file("/visits", 1, &big);
            j.append(Record::Deleted { kind: "v1/Service".into(), namespace: "default".into(), name, rv });
            v.gone();
        }
        j.sync().expect("sync");
    };
    churn(10);
    j.compact().expect("compact");
    let after_ten = j.size();
    churn(1000);
    // 1,000 rounds append 16 MiB: without compaction the file would hold all of it.
    assert!(j.size() <= COMPACT_MIN + 64 * 1024, "journal at {} bytes after churn", j.size());
    j.compact().expect("compact");
    assert!(j.size() <= after_ten + 16, "{} bytes after compaction, {after_ten} before the churn", j.size());
    drop(j);
    let (_, restored) = Journal::open(&dir.0, false).expect("reopen");
    assert!(restored.is_empty());
    assert_eq!(restored.rv, rv, "the version counter survives compaction");
}

mod cluster {
    use std::sync::Arc;

    use jiff::{SignedDuration, Timestamp};
    use k8s_openapi::api::apps::v1::StatefulSet;
    use k8s_openapi::api::core::v1::PersistentVolumeClaim;

    use super::TempDir;
    use crate::durable::Journal;
    use crate::store::StoreError;
    use crate::{Clock, Cluster, Config};

    fn open(dir: &TempDir, clock: &Clock) -> Arc<Cluster> {
        let (journal, restored) = Journal::open(&dir.0, false).expect("open the state directory");
        Cluster::with_journal(Config::default(), clock.clone(), journal, &restored)
    }

    fn cat(c: &Cluster, pod: &str) -> String {
        let out = c.exec("default", pod, None, &["cat".into(), "/data/visits".into()]).expect("exec");
        out.stdout_text().trim().to_owned()
    }

    /// Three facts about one object.
    type Row = (String, String, String);

    /// (name, uid, resourceVersion) of every pod; (name, uid, volume) of every claim.
    fn picture(c: &Cluster) -> (Vec<Row>, Vec<Row>) {
        let pods = c.store.pods.list(None).0;
        let claims = c.store.pvcs.list(None).0;
        let pods = pods.iter().map(|p| {
            let m = &p.metadata;
            (m.name.clone().unwrap_or_default(), m.uid.clone().unwrap_or_default(), m.resource_version.clone().unwrap_or_default())
        });
        let claims = claims.iter().map(|p| {
            let volume = p.spec.as_ref().and_then(|s| s.volume_name.clone()).unwrap_or_default();
            (p.metadata.name.clone().unwrap_or_default(), p.metadata.uid.clone().unwrap_or_default(), volume)
        });
        (pods.collect(), claims.collect())
    }

    fn phases(c: &Cluster) -> Vec<(String, String)> {
        c.store
            .pods
            .list(None)
            .0
            .iter()
            .map(|p| {
                let phase = p.status.as_ref().and_then(|s| s.phase.clone()).unwrap_or_default();
                (p.metadata.name.clone().unwrap_or_default(), phase)
            })
            .collect()
    }

    #[test]
    fn a_restarted_cluster_resumes_with_the_same_objects_files_and_versions() {
        let dir = TempDir::new();
        let clock = Clock::manual(Timestamp::now());
        let before = open(&dir, &clock);
        crate::lab::load_manifest(&before, crate::lab::LAB_MANIFEST).expect("lab");
        before.advance(SignedDuration::from_secs(40));
        for _ in 0..3 {
            before.http_get("default", "web-0", 8000, "/").expect("visit");
        }
        before.http_get("default", "web-2", 8000, "/").expect("visit");
        before.persist().expect("persist");
        let picture_before = picture(&before);
        let rv_before = before.store.shared.current_rv();
        assert_eq!(picture_before.0.len(), 3);
        drop(before);

        let after = open(&dir, &clock);
        assert_eq!(picture(&after), picture_before, "same pods and claims, same UIDs and versions");
        assert_eq!(after.store.shared.current_rv(), rv_before);
        assert!(matches!(after.store.pods.watch(Some(rv_before - 1)), Err(StoreError::TooOld { .. })), "a watch from before the restart must re-list");
        assert!(after.store.pods.watch(Some(rv_before)).is_ok(), "a watch from the last version resumes");

        after.advance(SignedDuration::from_secs(40));
        assert!(phases(&after).iter().all(|(_, p)| p == "Running"), "{:?}", phases(&after));
        assert_eq!(cat(&after, "web-0"), "3");
        assert_eq!(cat(&after, "web-2"), "1");
        let web1 = after.exec("default", "web-1", None, &["cat".into(), "/data/visits".into()]).expect("exec");
        assert_eq!(web1.exit_code, 1, "never visited, so still no file");
        assert!(after.store.shared.current_rv() > rv_before, "new writes take versions above the old ones");
    }

    #[test]
    fn a_deleted_volume_frees_its_files_in_memory_and_on_disk() {
        let dir = TempDir::new();
        let clock = Clock::manual(Timestamp::now());
        let c = open(&dir, &clock);
        crate::lab::load_manifest(&c, crate::lab::LAB_MANIFEST).expect("lab");
        c.advance(SignedDuration::from_secs(40));
        c.http_get("default", "web-0", 8000, "/").expect("visit");
        let claim = c.store.pvcs.get("default", "data-web-0").expect("claim");
        let volume = claim.spec.as_ref().and_then(|s| s.volume_name.clone()).expect("bound");
        assert!(c.runtime.lock().volumes.contains_key(&volume));

        let options = crate::ops::DeleteOptions::default();
        crate::ops::delete::<StatefulSet>(&c, "default", "web", &options).expect("delete the StatefulSet");
        c.advance(SignedDuration::from_secs(60));
        crate::ops::delete::<PersistentVolumeClaim>(&c, "default", "data-web-0", &options).expect("delete the claim");
        c.advance(SignedDuration::from_secs(10));
        assert!(c.store.pvs.get("", &volume).is_none(), "the Delete reclaim policy removed the volume");
        assert!(!c.runtime.lock().volumes.contains_key(&volume), "its files are freed");
        c.persist().expect("persist");
        drop(c);
        let (_, restored) = Journal::open(&dir.0, false).expect("reopen");
        assert!(!restored.volumes.contains_key(&volume), "and gone from the state directory");
    }
    #[test]
    fn claim_churn_leaves_no_files_behind_in_memory_or_on_disk() {
        let dir = TempDir::new();
        let clock = Clock::manual(Timestamp::now());
        let c = open(&dir, &clock);
        let claim = "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: scratch\nspec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n";
        let journal = c.store.shared.journal().expect("journal").clone();
        let options = crate::ops::DeleteOptions::default();
        let churn = |times: usize| {
            for _ in 0..times {
                crate::lab::load_manifest(&c, claim).expect("claim");
                c.advance(SignedDuration::from_secs(1));
                let bound = c.store.pvcs.get("default", "scratch").and_then(|p| p.spec.as_ref()?.volume_name.clone());
                let volume = bound.expect("the claim is bound");
                c.runtime.volume(&volume).write("/data.bin", vec![7u8; 4096]).expect("write");
                crate::ops::delete::<PersistentVolumeClaim>(&c, "default", "scratch", &options).expect("delete the claim");
                c.advance(SignedDuration::from_secs(1));
                // Events expire after an hour on a real cluster; here they would be the only growth.
                for e in c.store.events.list(None).0 {
                    c.store.events.remove("default", e.metadata.name.as_deref().unwrap_or_default());
                }
            }
            assert!(c.runtime.lock().volumes.is_empty(), "every deleted volume's files are freed");
            assert!(c.store.pvs.is_empty());
            journal.compact().expect("compact");
            journal.size()
        };
        let after_ten = churn(10);
        let after_thousand = churn(1000);
        assert!(after_thousand <= after_ten + 64, "{after_thousand} bytes after 1,010 claims, {after_ten} after 10");
    }
}
