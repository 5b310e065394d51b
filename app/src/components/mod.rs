//! The dashboard's panels and the confirmation dialog, one component per file.

pub mod confirm;
pub mod dns;
pub mod header;
pub mod pods;
pub mod probes;
pub mod statefulset;
pub mod storage;
