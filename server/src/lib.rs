//! The StatefulSet Lab server: connects to a cluster (the in-process practice
//! cluster by default), watches one namespace with kube-rs reflectors, maps what it
//! sees to the view model, and serves the Leptos UI, the JSON snapshot and the live
//! stream.

#![recursion_limit = "512"]

pub mod access;
pub mod config;
pub mod connect;
pub mod dashboard;
pub mod gzip;
pub mod kinds;
pub mod mapping;
pub mod memory;
pub mod narrate;
pub mod ordering;
pub mod publish;
pub mod stream;
pub mod validate;
pub mod visits;
pub mod watch;
pub mod web;
