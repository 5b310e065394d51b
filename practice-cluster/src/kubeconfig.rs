//! The kubeconfig that points kubectl (or any client) at a practice cluster.

use std::path::Path;

/// A kubeconfig with one context, `practice`, for the API at `server`
/// (e.g. `http://127.0.0.1:6443`), defaulting to `namespace`.
pub fn render(server: &str, namespace: &str) -> String {
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: practice
  cluster:
    server: {server}
contexts:
- name: practice
  context:
    cluster: practice
    namespace: {namespace}
    user: student
current-context: practice
preferences: {{}}
users:
- name: student
  user: {{}}
"
    )
}

/// Writes [`render`]'s kubeconfig to `path`.
pub fn write(path: &Path, server: &str, namespace: &str) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, render(server, namespace))
}
