//! Reading each pod's visit counter the way the lab does (`exec cat <file>`, or
//! `GET /visits` through the pod proxy), every few seconds, a few pods at a time.
//! Failures are kept as messages per pod, never turned into zero.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::model::Visits;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::AttachParams;
use kube::{Api, Client};
use tokio::io::AsyncReadExt;

use crate::config::VisitsVia;
use crate::watch::{Health, Stores};

/// How many pods are read at once.
const CONCURRENCY: usize = 4;
/// The most reads per second, whatever the pod count: 3 pods are read every round,
/// 1,000 pods one round per 50 s, so counts never cost more than a few reads a second.
const READS_PER_SECOND: f64 = 20.0;
/// How long one read may take.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// How counts are read.
#[derive(Clone)]
pub struct Reader {
    /// Client for exec and proxy calls.
    pub client: Client,
    /// Namespace of the pods.
    pub namespace: String,
    /// Exec or proxy.
    pub via: VisitsVia,
    /// The file, relative to the container's working directory.
    pub file: String,
}

/// The latest count of every pod, by pod name, for the pod's current UID: a pod
/// re-created under the same name starts unread, so its first reading is its own.
#[derive(Default)]
pub struct Counts {
    by_pod: Mutex<HashMap<String, Latest>>,
    changes: std::sync::atomic::AtomicU64,
}

/// A pod's latest reading.
#[derive(Clone)]
struct Latest {
    uid: String,
    visits: Visits,
    /// When the read began: a slower read that began earlier does not overwrite it.
    started: Instant,
}

impl Counts {
    /// A copy of every pod's count with the UID of the pod it was read from.
    pub fn all(&self) -> HashMap<String, (String, Visits)> {
        let map = self.by_pod.lock().unwrap_or_else(|p| p.into_inner());
        map.iter().map(|(pod, l)| (pod.clone(), (l.uid.clone(), l.visits.clone()))).collect()
    }

    /// Records a read of pod `pod` with UID `uid` that began at `started`; returns
    /// whether anything on screen changed.
    pub fn record(&self, pod: &str, uid: &str, started: Instant, result: Result<u64, String>) -> bool {
        let mut map = self.by_pod.lock().unwrap_or_else(|p| p.into_inner());
        let same_pod = map.get(pod).filter(|l| l.uid == uid);
        if same_pod.is_some_and(|l| l.started > started) {
            return false;
        }
        let previous = same_pod.map(|l| l.visits.clone()).unwrap_or_default();
        let next = match result {
            Ok(value) => match previous {
                Visits::Count { value: old, changed_at } if old == value => Visits::Count { value, changed_at },
                // The first reading is not a change; a different value is.
                Visits::Unknown => Visits::Count { value, changed_at: 0 },
                _ => {
                    let seq = self.changes.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    Visits::Count { value, changed_at: seq }
                }
            },
            Err(message) => Visits::Error { message },
        };
        let changed = map.get(pod).is_none_or(|l| l.uid != uid || l.visits != next);
        map.insert(pod.to_owned(), Latest { uid: uid.to_owned(), visits: next, started });
        changed
    }

    /// Forgets pods that no longer exist.
    pub fn retain(&self, live: &[String]) {
        self.by_pod.lock().unwrap_or_else(|p| p.into_inner()).retain(|k, _| live.contains(k));
    }
}

/// The port the app serves on: the first container's first `containerPort`, else 8000
/// (the lab app's default).
pub fn app_port(pod: &Pod) -> i32 {
    pod.spec.as_ref().and_then(|s| s.containers.first()).and_then(|c| c.ports.as_ref()).and_then(|p| p.first()).map_or(8000, |p| p.container_port)
}

/// At most the first 200 characters of what a pod answered, trimmed, for a message.
pub fn quote(answer: &str) -> String {
    let answer = answer.trim();
    let mut shown: String = answer.chars().take(200).collect();
    if answer.chars().count() > 200 {
        shown.push('…');
    }
    shown
}

fn parse_count(text: &str) -> Result<u64, String> {
    let t = text.trim();
    t.parse().map_err(|_| format!("the visits file does not hold a number: {t:?}"))
}

impl Reader {
    /// Reads one pod's count.
    pub async fn read(&self, pod: &Pod) -> Result<u64, String> {
        if let Some(why) = crate::mapping::pods::not_running(pod) {
            return Err(why);
        }
        let name = pod.metadata.name.clone().unwrap_or_default();
        let read = async {
            match self.via {
                VisitsVia::Exec => self.read_exec(&name).await,
                VisitsVia::Proxy => self.read_proxy(pod, &name).await,
            }
        };
        tokio::time::timeout(READ_TIMEOUT, read).await.unwrap_or_else(|_| Err("reading timed out".into()))
    }

    async fn read_exec(&self, name: &str) -> Result<u64, String> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), &self.namespace);
        let params = AttachParams::default().stdout(true).stderr(true).stdin(false);
        let mut process = api.exec(name, ["cat", self.file.as_str()], &params).await.map_err(|e| format!("exec failed: {e}"))?;
        let (mut out, mut err) = (String::new(), String::new());
        if let Some(mut s) = process.stdout() {
            s.read_to_string(&mut out).await.map_err(|e| format!("reading stdout: {e}"))?;
        }
        if let Some(mut s) = process.stderr() {
            s.read_to_string(&mut err).await.map_err(|e| format!("reading stderr: {e}"))?;
        }
        let status = match process.take_status() {
            Some(s) => s.await,
            None => None,
        };
        let _ = process.join().await;
        if status.as_ref().is_some_and(|s| s.status.as_deref() == Some("Failure")) {
            let err = err.trim();
            return Err(if err.contains("No such file") {
                "no visits file yet".to_owned()
            } else if err.is_empty() {
                "cat failed".into()
            } else {
                err.to_owned()
            });
        }
        parse_count(&out)
    }

    /// The kubectl command that reads `pod`'s count the way this reader does.
    pub fn kubectl(&self, pod: &str) -> String {
        match self.via {
            VisitsVia::Exec => format!("kubectl exec {pod} -n {} -- cat {}", self.namespace, self.file),
            VisitsVia::Proxy => format!("kubectl get --raw /api/v1/namespaces/{}/pods/{pod}:8000/proxy/visits", self.namespace),
        }
    }

    async fn read_proxy(&self, pod: &Pod, name: &str) -> Result<u64, String> {
        let port = app_port(pod);
        let url = format!("/api/v1/namespaces/{}/pods/{name}:{port}/proxy/visits", self.namespace);
        let request = axum::http::Request::get(url).body(Vec::new()).map_err(|e| e.to_string())?;
        let text = self.client.request_text(request).await.map_err(|e| format!("proxy failed: {e}"))?;
        parse_count(&text)
    }
}

/// How long a round over `pods` pods takes at least: `every`, or longer when reading
/// them all that often would exceed [`READS_PER_SECOND`].
fn round_length(every: Duration, pods: usize) -> Duration {
    every.max(Duration::from_secs_f64(pods as f64 / READS_PER_SECOND))
}

/// Reads every StatefulSet pod's count every `every` (slower for many pods), forever.
pub fn spawn(reader: Reader, stores: Stores, counts: Arc<Counts>, health: Health, every: Duration) {
    tokio::spawn(async move {
        let mut next_round = tokio::time::Instant::now();
        loop {
            tokio::time::sleep_until(next_round).await;
            let pods: Vec<Arc<Pod>> = stores
                .pods
                .state()
                .into_iter()
                .filter(|p| {
                    p.metadata.owner_references.iter().flatten().any(|o| o.kind == "StatefulSet")
                        || p.metadata.labels.as_ref().is_some_and(|l| l.contains_key("statefulset.kubernetes.io/pod-name"))
                })
                .collect();
            next_round = tokio::time::Instant::now() + round_length(every, pods.len());
            let names: Vec<String> = pods.iter().filter_map(|p| p.metadata.name.clone()).collect();
            counts.retain(&names);
            let results: Vec<(String, String, Instant, Result<u64, String>)> = futures::stream::iter(pods)
                .map(|p| {
                    let reader = reader.clone();
                    async move {
                        let (name, uid) = (p.metadata.name.clone().unwrap_or_default(), p.metadata.uid.clone().unwrap_or_default());
                        let started = Instant::now();
                        Ok::<_, ()>((name, uid, started, reader.read(&p).await))
                    }
                })
                .buffer_unordered(CONCURRENCY)
                .try_collect()
                .await
                .unwrap_or_default();
            let mut changed = false;
            for (pod, uid, started, result) in results {
                changed |= counts.record(&pod, &uid, started, result);
            }
            if changed {
                health.bump();
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_reading_is_not_highlighted_but_a_change_is() {
        let c = Counts::default();
        assert!(c.record("web-0", "u1", Instant::now(), Ok(3)));
        assert_eq!(c.all()["web-0"].1, Visits::Count { value: 3, changed_at: 0 });
        assert!(!c.record("web-0", "u1", Instant::now(), Ok(3)), "same value: nothing to redraw");
        assert!(c.record("web-0", "u1", Instant::now(), Ok(4)));
        assert!(matches!(c.all()["web-0"].1, Visits::Count { value: 4, changed_at } if changed_at > 0));
    }

    #[test]
    fn a_recreated_pod_starts_unread_so_its_first_reading_is_its_own() {
        let c = Counts::default();
        c.record("web-1", "old", Instant::now(), Ok(7));
        assert!(c.record("web-1", "new", Instant::now(), Ok(7)), "the new pod's reading is news even with the same value");
        assert_eq!(c.all()["web-1"], ("new".to_owned(), Visits::Count { value: 7, changed_at: 0 }));
    }

    #[test]
    fn a_slow_read_that_began_earlier_does_not_overwrite_a_newer_one() {
        let c = Counts::default();
        let (poller, visit) = (Instant::now(), Instant::now() + Duration::from_millis(1));
        c.record("web-0", "u1", visit, Ok(1));
        assert!(!c.record("web-0", "u1", poller, Err("no visits file yet".into())));
        assert_eq!(c.all()["web-0"].1, Visits::Count { value: 1, changed_at: 0 });
    }

    #[test]
    fn many_pods_are_read_at_a_bounded_rate() {
        let every = Duration::from_secs(2);
        assert_eq!(round_length(every, 3), every, "a lab-sized set is read every round");
        assert_eq!(round_length(every, 1000), Duration::from_secs(50), "1,000 pods: 20 reads a second, not 500");
    }

    #[test]
    fn errors_are_kept_as_words_not_zero() {
        let c = Counts::default();
        c.record("web-2", "u2", Instant::now(), Err("no visits file yet".into()));
        assert_eq!(c.all()["web-2"].1, Visits::Error { message: "no visits file yet".into() });
        assert!(parse_count("12\n").is_ok_and(|n| n == 12));
        assert!(parse_count("twelve").is_err());
    }
}
