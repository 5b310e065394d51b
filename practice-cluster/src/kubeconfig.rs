//! The kubeconfig that points kubectl (or any client) at a practice cluster.

use std::path::Path;

use base64::Engine;

use crate::Running;

/// A kubeconfig with one context, `practice`, for the API at `server`
/// (e.g. `http://127.0.0.1:6443`), defaulting to `namespace`.
pub fn render(server: &str, namespace: &str) -> String {
    render_with(server, namespace, None, None)
}

/// The kubeconfig for `running`: its URL and, when it listens beyond loopback, the
/// certificate to trust and the bearer token to send.
pub fn render_for(running: &Running, namespace: &str) -> String {
    render_with(&running.url(), namespace, running.certificate_pem.as_deref(), running.token.as_deref())
}

fn render_with(server: &str, namespace: &str, certificate_pem: Option<&str>, token: Option<&str>) -> String {
    let tls = certificate_pem.map_or_else(String::new, |pem| {
        let data = base64::engine::general_purpose::STANDARD.encode(pem);
        format!("\n    certificate-authority-data: {data}\n    tls-server-name: {}", crate::tls::SERVER_NAME)
    });
    let user = token.map_or_else(|| " {}".to_owned(), |token| format!("\n    token: {token}"));
    format!(
        "apiVersion: v1
kind: Config
clusters:
- name: practice
  cluster:
    server: {server}{tls}
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
    write_text(path, &render(server, namespace), false)
}

/// Writes [`render_for`]'s kubeconfig to `path`; one holding a token is readable by
/// its owner only, as kubectl keeps its own.
pub fn write_for(path: &Path, running: &Running, namespace: &str) -> std::io::Result<()> {
    write_text(path, &render_for(running, namespace), running.token.is_some())
}

fn write_text(path: &Path, text: &str, private: bool) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, text)?;
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}
