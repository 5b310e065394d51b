//! A practice Kubernetes cluster for the StatefulSet lab.
//!
//! It serves the Kubernetes API over plain HTTP (discovery, tables, watch, patch, exec,
//! proxy) so that real `kubectl` and kube-rs work against it unchanged, and runs the
//! controllers a StatefulSet lab exercises: StatefulSet, volume provisioning, a simulated
//! kubelet with probes and the lab's visit-counting app, EndpointSlices, DNS and garbage
//! collection. Time comes from a [`Clock`] that tests can drive by hand.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! let running = practice_cluster::start(practice_cluster::Options::default()).await?;
//! println!("API at http://{}", running.addr);
//! # Ok(()) }
//! ```

pub mod api;
pub mod clock;
pub mod cluster;
pub mod controllers;
pub mod dns;
pub mod durable;
pub mod events;
pub mod kinds;
pub mod kubeconfig;
pub mod lab;
pub mod limits;
pub mod ops;
pub mod printers;
pub mod scenario;
pub mod sim;
pub mod store;
pub mod tls;

pub use clock::Clock;
pub use cluster::{Cluster, Config, Options, Running, Timings, start};
pub use scenario::Scenario;
