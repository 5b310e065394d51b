//! Tests of the simulated shell against a fake pod: [`commands`] for each command,
//! [`interpreter`] for `sh -c`, [`budget`] for runaway scripts and hostile input.

mod budget;
mod commands;
mod interpreter;

use std::net::Ipv4Addr;

use jiff::Timestamp;

use super::{ExecOutput, HttpClient, Resolver, ShellContext, run_with_stdin};
use crate::sim::fs::{Fs, MountTable};

/// The cluster's time in every test: 2023-11-14 22:13:20 UTC.
const NOW: i64 = 1_700_000_000;

/// Cluster DNS with a few records; applies the search list like resolv.conf.
struct FakeDns;

const RECORDS: &[(&str, &[[u8; 4]])] = &[
    ("web-0.web.default.svc.cluster.local", &[[10, 244, 0, 6]]),
    ("web-1.web.default.svc.cluster.local", &[[10, 244, 0, 7]]),
    ("web.default.svc.cluster.local", &[[10, 244, 0, 6], [10, 244, 0, 7]]),
    ("down.default.svc.cluster.local", &[[10, 244, 0, 9]]),
    ("notfound.default.svc.cluster.local", &[[10, 244, 0, 10]]),
    ("kubernetes.default.svc.cluster.local", &[[10, 96, 0, 1]]),
];

impl Resolver for FakeDns {
    fn lookup(&self, name: &str, search: &[String]) -> Vec<Ipv4Addr> {
        let Some(fqdn) = self.fqdn(name, search) else {
            return Vec::new();
        };
        RECORDS.iter().find(|(n, _)| *n == fqdn).map(|(_, ips)| ips.iter().map(|o| Ipv4Addr::from(*o)).collect()).unwrap_or_default()
    }

    fn fqdn(&self, name: &str, search: &[String]) -> Option<String> {
        let mut candidates: Vec<String> = search.iter().map(|d| format!("{name}.{d}")).collect();
        candidates.push(name.to_string());
        candidates.into_iter().find(|c| RECORDS.iter().any(|(n, _)| n == c))
    }

    fn nameserver(&self) -> Ipv4Addr {
        Ipv4Addr::new(10, 96, 0, 10)
    }
}

/// Pods answering HTTP: `down` refuses, `/missing` is a 404.
struct FakeHttp;

impl HttpClient for FakeHttp {
    fn get(&self, host: &str, port: u16, path: &str) -> Result<(u16, Vec<u8>), String> {
        if host.starts_with("down") || host == "10.244.0.9" || port != 80 {
            return Err("Connection refused".to_string());
        }
        match path {
            "/" => Ok((200, format!("hello from {host}\n").into_bytes())),
            "/missing" => Ok((404, b"404 page not found\n".to_vec())),
            other => Ok((200, format!("path {other}\n").into_bytes())),
        }
    }
}

struct Pod {
    table: MountTable,
    data: Fs,
    env: Vec<(String, String)>,
    search: Vec<String>,
    cwd: String,
}

impl Pod {
    fn new() -> Pod {
        let root = Fs::new();
        root.create_dir_all("/etc").expect("mkdir");
        root.create_dir_all("/tmp").expect("mkdir");
        root.create_dir_all("/root").expect("mkdir");
        root.write("/etc/hosts", "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n10.244.0.6\tweb-0.web.default.svc.cluster.local\tweb-0\n")
            .expect("write");
        root.write("/etc/hostname", "web-0\n").expect("write");
        let data = Fs::new();
        let config = Fs::new();
        config.write("/app.conf", "color=blue\n").expect("write");
        let table = MountTable::new(root).with_mount("/data", data.clone(), false).with_mount("/etc/config", config, true);
        Pod {
            table,
            data,
            env: vec![
                ("PATH".to_string(), "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string()),
                ("HOSTNAME".to_string(), "web-0".to_string()),
                ("POD_NAME".to_string(), "web-0".to_string()),
                ("HOME".to_string(), "/root".to_string()),
            ],
            search: vec!["default.svc.cluster.local".to_string(), "svc.cluster.local".to_string(), "cluster.local".to_string()],
            cwd: "/".to_string(),
        }
    }

    fn in_dir(mut self, cwd: &str) -> Pod {
        self.cwd = cwd.to_string();
        self
    }

    fn run_stdin(&self, argv: &[&str], stdin: &[u8]) -> ExecOutput {
        let argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
        let ctx = ShellContext {
            fs: &self.table,
            cwd: &self.cwd,
            hostname: "web-0",
            env: &self.env,
            resolver: &FakeDns,
            http: &FakeHttp,
            search: &self.search,
            now: Timestamp::from_second(NOW).unwrap_or(Timestamp::UNIX_EPOCH),
        };
        run_with_stdin(&argv, stdin, &ctx)
    }

    fn run(&self, argv: &[&str]) -> ExecOutput {
        self.run_stdin(argv, b"")
    }

    fn sh(&self, script: &str) -> ExecOutput {
        self.run(&["sh", "-c", script])
    }
}

fn ok(out: &ExecOutput) -> String {
    assert_eq!(out.exit_code, 0, "stderr: {}", out.stderr_text());
    out.stdout_text()
}
