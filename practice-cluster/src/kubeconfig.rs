//! The kubeconfig that points kubectl (or any client) at a practice cluster.

use std::path::Path;

/// A kubeconfig with one context, `practice`, for the API at `server`
/// (e.g. `http://127.0.0.1:6443`), defaulting to `namespace`.
pub fn render(server: &str, namespace: &str) -> String {
    render_with_token(server, namespace, None)
}

/// [`render`], with the bearer token the cluster requires (see
/// [`crate::Running::token`]) in the user's credentials.
pub fn render_with_token(server: &str, namespace: &str, token: Option<&str>) -> String {
    let user = match token {
        Some(token) => format!("\n    token: {token}"),
        None => " {}".to_owned(),
    };
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
  user:{user}
"
    )
}

/// Writes [`render`]'s kubeconfig to `path`.
pub fn write(path: &Path, server: &str, namespace: &str) -> std::io::Result<()> {
    write_with_token(path, server, namespace, None)
}

/// Writes [`render_with_token`]'s kubeconfig to `path`; with a token, readable by its
/// owner only, as kubectl keeps its own.
pub fn write_with_token(path: &Path, server: &str, namespace: &str, token: Option<&str>) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, render_with_token(server, namespace, token))?;
    #[cfg(unix)]
    if token.is_some() {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}
