//! Shared set-up for the integration tests: a practice cluster on a free loopback port,
//! on a manual clock the test moves, with a kubeconfig for the real `kubectl`.

#![allow(dead_code, missing_docs)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use practice_cluster::{Clock, Options, Running};

pub struct Lab {
    pub running: Running,
    pub kubeconfig: PathBuf,
    pub dir: PathBuf,
}

impl Lab {
    /// The lab deployed, on a manual clock, with nothing run yet.
    pub async fn start() -> Lab {
        Self::with(Options { clock: Clock::manual(Timestamp::now()), ..Options::default() }).await
    }

    pub async fn with(options: Options) -> Lab {
        let running = practice_cluster::start(options).await.expect("start the practice cluster");
        let dir = std::env::temp_dir().join(format!("stslab-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let kubeconfig = dir.join("kubeconfig");
        practice_cluster::kubeconfig::write_for(&kubeconfig, &running, "default").expect("kubeconfig");
        Lab { running, kubeconfig, dir }
    }

    /// Moves the cluster's clock forward, running everything that falls due.
    pub fn advance(&self, secs: f64) {
        self.running.cluster.advance(SignedDuration::from_secs_f64(secs));
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("kubectl");
        c.args(args).env("KUBECONFIG", &self.kubeconfig).env_remove("KUBERNETES_SERVICE_HOST");
        c
    }

    /// Runs kubectl to completion.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run kubectl")
    }

    /// Runs kubectl, expecting success, and returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(out.status.success(), "kubectl {args:?} failed: {}\n{}", String::from_utf8_lossy(&out.stderr), String::from_utf8_lossy(&out.stdout));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs kubectl in the background while the clock moves `step` seconds at a time
    /// (each step after a short real pause), until it exits or `max_steps` pass.
    pub fn kubectl_while_advancing(&self, args: &[&str], step: f64, max_steps: usize) -> Output {
        let child = self.command(args).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().expect("spawn kubectl");
        let handle = std::thread::spawn(move || child.wait_with_output());
        for _ in 0..max_steps {
            if handle.is_finished() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
            self.advance(step);
        }
        handle.join().expect("kubectl thread").expect("kubectl output")
    }

    /// Starts kubectl (e.g. a `-w` watch) in the background.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        self.command(args).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().expect("spawn kubectl")
    }

    /// Visits `/` of a pod through the API server's pod proxy, as a browser would.
    pub fn visit(&self, pod: &str) -> String {
        self.ok(&["get", "--raw", &format!("/api/v1/namespaces/default/pods/{pod}:8000/proxy/")])
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The rows of `kubectl get` output, split into cells.
pub fn rows(out: &str) -> Vec<Vec<String>> {
    out.lines().map(|l| l.split_whitespace().map(str::to_owned).collect()).collect()
}

/// The row whose first cell is `name`.
pub fn row<'a>(rows: &'a [Vec<String>], name: &str) -> &'a [String] {
    rows.iter().find(|r| r.first().is_some_and(|c| c == name)).unwrap_or_else(|| panic!("no row {name} in {rows:?}"))
}
