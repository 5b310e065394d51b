//! Running one probe attempt against a simulated container, with the messages the real
//! kubelet's prober gives (`HTTP probe failed with statuscode: 500`, `dial tcp
//! 10.244.0.5:8000: connect: connection refused`, an exec probe's output).
//!
//! When the probe kind's fault annotation is set (see [`super::app`]), the attempt
//! fails as it would against a broken app. The simulated app answers at once, so
//! `timeoutSeconds` never trips.

use std::net::Ipv4Addr;

use k8s_openapi::api::core::v1::{Container, Pod, Probe};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::app::{self, App};
use super::fs::MountTable;
use super::node::{Logs, ProbeKind};
use super::{ExecTarget, Node, run_in};
use crate::Cluster;

/// The container instance a probe runs against.
pub(crate) struct Subject<'a> {
    /// The cluster (for DNS from exec probes).
    pub cluster: &'a Cluster,
    /// The pod.
    pub pod: &'a Pod,
    /// The container's spec.
    pub container: &'a Container,
    /// The pod's IP.
    pub ip: Ipv4Addr,
    /// The container's filesystems.
    pub mounts: &'a MountTable,
    /// The container's environment.
    pub env: &'a [(String, String)],
    /// The container's working directory.
    pub cwd: &'a str,
    /// Apps listening in this pod, by port.
    pub own: &'a [(App, Logs)],
    /// The node, whose lock the caller holds.
    pub node: &'a Node,
}

/// The port a probe names: a number, or a container port's name.
fn port_of(container: &Container, port: &IntOrString) -> Result<u16, String> {
    match port {
        IntOrString::Int(n) => u16::try_from(*n).map_err(|_| format!("invalid port number: {n}")),
        IntOrString::String(name) => match name.parse::<u16>() {
            Ok(n) => Ok(n),
            Err(_) => container
                .ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .and_then(|p| u16::try_from(p.container_port).ok())
                .ok_or_else(|| format!("unable to find port {name:?} in container {:?}", container.name)),
        },
    }
}

/// One probe attempt: `Ok` on success, else the message after `<Kind> probe failed: `.
pub(crate) fn attempt(kind: ProbeKind, probe: &Probe, s: &Subject<'_>) -> Result<(), String> {
    let faulty = app::fault(s.pod, kind.fault_annotation());
    if let Some(h) = &probe.http_get {
        let port = port_of(s.container, &h.port)?;
        let path = h.path.as_deref().filter(|p| !p.is_empty()).unwrap_or("/");
        let path = if path.starts_with('/') { path.to_owned() } else { format!("/{path}") };
        let scheme = h.scheme.as_deref().unwrap_or("HTTP").to_ascii_lowercase();
        let host = h.host.clone().filter(|h| !h.is_empty()).unwrap_or_else(|| s.ip.to_string());
        let url = format!("{scheme}://{host}:{port}{path}");
        let Some((app, _)) = s.own.iter().find(|(a, _)| a.port == port) else {
            return Err(format!("Get \"{url}\": dial tcp {host}:{port}: connect: connection refused"));
        };
        if faulty {
            return Err("HTTP probe failed with statuscode: 500".to_owned());
        }
        if scheme == "https" {
            return Err(format!("Get \"{url}\": http: server gave HTTP response to HTTPS client"));
        }
        let status = app.serve("GET", &path).status;
        return if (200..400).contains(&status) { Ok(()) } else { Err(format!("HTTP probe failed with statuscode: {status}")) };
    }
    if let Some(t) = &probe.tcp_socket {
        let port = port_of(s.container, &t.port)?;
        let host = t.host.clone().filter(|h| !h.is_empty()).unwrap_or_else(|| s.ip.to_string());
        if faulty || !s.own.iter().any(|(a, _)| a.port == port) {
            return Err(format!("dial tcp {host}:{port}: connect: connection refused"));
        }
        return Ok(());
    }
    if let Some(e) = &probe.exec {
        if faulty {
            return Err(format!("simulated failure ({} is set)", kind.fault_annotation()));
        }
        let argv = e.command.clone().unwrap_or_default();
        let target = ExecTarget { cluster: s.cluster, pod: s.pod, ip: s.ip, mounts: s.mounts, env: s.env, cwd: s.cwd, own: s.own.to_vec() };
        let out = run_in(target, &argv, &[], Some(s.node));
        if out.exit_code == 0 {
            return Ok(());
        }
        let mut text = out.stdout_text();
        text.push_str(&out.stderr_text());
        return Err(text.trim_end().to_owned());
    }
    if let Some(g) = &probe.grpc {
        let port = u16::try_from(g.port).unwrap_or_default();
        return Err(format!(
            "timeout: failed to connect service \"{}:{port}\" within {}s: the lab app does not serve gRPC",
            s.ip,
            probe.timeout_seconds.unwrap_or(1)
        ));
    }
    Ok(())
}
