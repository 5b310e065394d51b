//! Routed pages, one per file.

pub mod dashboard;
