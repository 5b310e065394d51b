//! HTTP commands: `wget` (busybox) and `curl`, over the pod network.

use super::dns::resolve_host;
use super::files::human_size;
use super::text::unescape;
use super::{getopt, opts_or_return, usage};
use crate::sim::shell::{Call, ExecOutput};

struct Url {
    scheme: String,
    host: String,
    port: u16,
    path: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum UrlError {
    Scheme,
    Port,
    Host,
}

fn parse_url(text: &str) -> Result<Url, UrlError> {
    let (scheme, rest) = match text.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None => ("http".to_string(), text),
    };
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return Err(UrlError::Scheme),
    };
    let split = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..split).unwrap_or_default();
    let mut path = rest.get(split..).unwrap_or_default().to_string();
    if let Some(hash) = path.find('#') {
        path.truncate(hash);
    }
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, "")) => (host, default_port),
        Some((host, port)) => (host, port.parse::<u16>().map_err(|_| UrlError::Port)?),
        None => (host_port, default_port),
    };
    if host.is_empty() {
        return Err(UrlError::Host);
    }
    Ok(Url { scheme, host: host.to_string(), port, path })
}

fn reason_phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// `wget [-qS] [--spider] [-O FILE] URL`
pub(super) fn wget(args: &[String], call: &Call) -> ExecOutput {
    let opts = opts_or_return!(getopt(
        "wget",
        args,
        "qcsSn",
        "OTtYUPoeH",
        &[
            ("quiet", 'q', false),
            ("output-document", 'O', true),
            ("timeout", 'T', true),
            ("tries", 't', true),
            ("spider", 's', false),
            ("server-response", 'S', false),
            ("header", 'H', true),
            ("user-agent", 'U', true),
            ("no-check-certificate", 'n', false),
            ("continue", 'c', false),
        ]
    ));
    let quiet = opts.has('q');
    let Some(url_text) = opts.operands.first() else {
        return usage("wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] [--header STR] [-T SEC] URL...");
    };
    let url = match parse_url(url_text) {
        Ok(url) => url,
        Err(UrlError::Scheme) => {
            return ExecOutput::fail(1, &format!("wget: not an http or ftp url: {url_text}\n"));
        }
        Err(UrlError::Port) => {
            return ExecOutput::fail(1, &format!("wget: bad port spec '{url_text}'\n"));
        }
        Err(UrlError::Host) => return ExecOutput::fail(1, "wget: bad address ''\n"),
    };
    let mut out = ExecOutput::default();
    let Some(ip) = resolve_host(call, &url.host) else {
        out.err(&format!("wget: bad address '{}'\n", url.host));
        out.exit_code = 1;
        return out;
    };
    if !quiet {
        out.err(&format!("Connecting to {} ({ip}:{})\n", url.host, url.port));
    }
    let (status, body) = match call.ctx.http.get(&url.host, url.port, &url.path) {
        Ok(response) => response,
        Err(reason) => {
            out.err(&format!("wget: can't connect to remote host ({ip}): {reason}\n"));
            out.exit_code = 1;
            return out;
        }
    };
    if opts.has('S') {
        out.err(&format!("  HTTP/1.1 {status} {}\n", reason_phrase(status)));
    }
    if !(200..300).contains(&status) {
        out.err(&format!("wget: server returned error: HTTP/1.1 {status} {}\n", reason_phrase(status)));
        out.exit_code = 1;
        return out;
    }
    if opts.has('s') {
        if !quiet {
            out.err("remote file exists\n");
        }
        return out;
    }
    let target = match opts.value('O') {
        Some(name) => name.to_string(),
        None => {
            let last = url.path.split(['?', '#']).next().unwrap_or_default().rsplit('/').next().unwrap_or_default();
            if last.is_empty() { "index.html".to_string() } else { last.to_string() }
        }
    };
    let progress = format!(
        "{:<20} 100% |********************************| {:>5}  0:00:00 ETA\n",
        if target == "-" { "-" } else { &target },
        human_size(body.len() as u64)
    );
    if target == "-" {
        if !quiet {
            out.err("writing to stdout\n");
            out.err(&progress);
            out.err("written to stdout\n");
        }
        out.stdout = body;
        return out;
    }
    if opts.value('O').is_none() && !opts.has('c') && call.fs().exists(&call.path(&target)) {
        out.err(&format!("wget: can't open '{target}': File exists\n"));
        out.exit_code = 1;
        return out;
    }
    if !quiet {
        out.err(&format!("saving to '{target}'\n"));
    }
    if let Err(err) = call.write(&target, &body) {
        out.err(&format!("wget: can't open '{target}': {err}\n"));
        out.exit_code = 1;
        return out;
    }
    if !quiet {
        out.err(&progress);
        out.err(&format!("'{target}' saved\n"));
    }
    out
}

/// `curl [-sSfivIO] [-o FILE] [-w FORMAT] URL`
pub(super) fn curl(args: &[String], call: &Call) -> ExecOutput {
    let opts = match getopt(
        "curl",
        args,
        "sSfLkviIO#4g",
        "omwXHdAueEr",
        &[
            ("silent", 's', false),
            ("show-error", 'S', false),
            ("fail", 'f', false),
            ("location", 'L', false),
            ("insecure", 'k', false),
            ("verbose", 'v', false),
            ("include", 'i', false),
            ("head", 'I', false),
            ("remote-name", 'O', false),
            ("output", 'o', true),
            ("max-time", 'm', true),
            ("connect-timeout", 'c', true),
            ("write-out", 'w', true),
            ("request", 'X', true),
            ("header", 'H', true),
            ("data", 'd', true),
            ("user-agent", 'A', true),
            ("retry", 'R', true),
        ],
    ) {
        Ok(opts) => opts,
        Err(output) => {
            let text = output.stderr_text();
            let found = text.rsplit(['\'', ' ']).find(|s| !s.trim().is_empty()).unwrap_or_default().trim();
            let option = if found.starts_with('-') { found.to_string() } else { format!("-{found}") };
            return ExecOutput::fail(2, &format!("curl: option {option}: is unknown\ncurl: try 'curl --help' or 'curl --manual' for more information\n"));
        }
    };
    let silent = opts.has('s');
    let show_errors = !silent || opts.has('S');
    let Some(url_text) = opts.operands.first() else {
        return ExecOutput::fail(2, "curl: no URL specified!\ncurl: try 'curl --help' or 'curl --manual' for more information\n");
    };
    let mut out = ExecOutput::default();
    let fail = |out: &mut ExecOutput, code: i32, message: &str| {
        if show_errors {
            out.err(&format!("curl: ({code}) {message}\n"));
        }
        out.exit_code = code;
    };
    let url = match parse_url(url_text) {
        Ok(url) => url,
        Err(UrlError::Scheme) => {
            let scheme = url_text.split("://").next().unwrap_or_default();
            fail(&mut out, 1, &format!("Protocol \"{scheme}\" not supported or disabled in libcurl"));
            return out;
        }
        Err(UrlError::Port) => {
            fail(&mut out, 3, "URL rejected: Port number was not a decimal number between 0 and 65535");
            return out;
        }
        Err(UrlError::Host) => {
            fail(&mut out, 3, "URL rejected: No host part in the URL");
            return out;
        }
    };
    let Some(ip) = resolve_host(call, &url.host) else {
        fail(&mut out, 6, &format!("Could not resolve host: {}", url.host));
        return out;
    };
    let verbose = opts.has('v');
    if verbose {
        out.err(&format!("*   Trying {ip}:{}...\n", url.port));
    }
    let (status, body) = match call.ctx.http.get(&url.host, url.port, &url.path) {
        Ok(response) => response,
        Err(reason) => {
            fail(&mut out, 7, &format!("Failed to connect to {} port {} after 0 ms: {reason}", url.host, url.port));
            return out;
        }
    };
    let reason = reason_phrase(status);
    if verbose {
        out.err(&format!(
            "* Connected to {} ({ip}) port {}\n> GET {} HTTP/1.1\n> Host: {}\n> User-Agent: curl/8.5.0\n> Accept: */*\n>\n< HTTP/1.1 {status} {reason}\n< Content-Length: {}\n<\n",
            url.host,
            url.port,
            url.path,
            if url.port == 80 || url.port == 443 {
                url.host.clone()
            } else {
                format!("{}:{}", url.host, url.port)
            },
            body.len()
        ));
    }
    if opts.has('f') && status >= 400 {
        fail(&mut out, 22, &format!("The requested URL returned error: {status}"));
        return out;
    }
    let headers = format!("HTTP/1.1 {status} {reason}\r\ncontent-length: {}\r\n\r\n", body.len());
    let mut document = Vec::new();
    if opts.has('I') {
        document.extend_from_slice(headers.as_bytes());
    } else {
        if opts.has('i') {
            document.extend_from_slice(headers.as_bytes());
        }
        document.extend_from_slice(&body);
    }
    if !silent && !verbose {
        let size = document.len();
        out.err(&format!(
            "  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n                                 Dload  Upload   Total   Spent    Left  Speed\n100 {size:>5}  100 {size:>5}    0     0   {size:>5}      0 --:--:-- --:--:-- --:--:-- {size:>5}\n"
        ));
    }
    let output_file = if opts.has('O') {
        let name = url.path.split(['?', '#']).next().unwrap_or_default().rsplit('/').next().unwrap_or_default().to_string();
        if name.is_empty() {
            fail(&mut out, 23, "Remote file name has no length");
            return out;
        }
        Some(name)
    } else {
        opts.value('o').map(str::to_string)
    };
    match output_file {
        Some(file) if file != "-" => {
            if call.write(&file, &document).is_err() {
                fail(&mut out, 23, &format!("Failure writing output to destination, passed {} returned 0", document.len()));
                return out;
            }
        }
        _ => out.stdout.extend_from_slice(&document),
    }
    if let Some(format) = opts.value('w') {
        let written = format
            .replace("%{http_code}", &format!("{status:03}"))
            .replace("%{response_code}", &format!("{status:03}"))
            .replace("%{size_download}", &body.len().to_string())
            .replace("%{url_effective}", url_text)
            .replace("%{remote_ip}", &ip.to_string())
            .replace("%{remote_port}", &url.port.to_string())
            .replace("%{time_total}", "0.001000")
            .replace("%{scheme}", &url.scheme.to_ascii_uppercase());
        out.out(&unescape(&written).0);
    }
    out
}

// ---------------------------------------------------------------------------------------
// sh -c: lexer
// ---------------------------------------------------------------------------------------
