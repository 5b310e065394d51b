//! The simulated node: containers, their filesystems, and the lab app inside them.

/// What runs on the practice node.
#[derive(Debug, Default)]
pub struct Runtime {}
