//! Name commands: `hostname`, `nslookup`, `getent hosts`, and the resolution `wget`
//! and `curl` share (`/etc/hosts`, then the cluster DNS with the pod's search list).

use std::fmt::Write as _;
use std::net::Ipv4Addr;

use super::{getopt, opts_or_return, usage};
use crate::sim::shell::{Call, ExecOutput};

/// `hostname [-sfdi]`
pub(super) fn hostname(args: &[String], call: &Call) -> ExecOutput {
    let opts = opts_or_return!(getopt("hostname", args, "sfdi", "F", &[("fqdn", 'f', false), ("short", 's', false)]));
    if !opts.operands.is_empty() || opts.has('F') {
        return ExecOutput::fail(1, "hostname: sethostname: Operation not permitted\n");
    }
    let name = call.ctx.hostname;
    let hosts = hosts_entries(call);
    let mine = hosts.iter().find(|(_, names)| names.iter().any(|n| n == name));
    let text = if opts.has('s') {
        name.split('.').next().unwrap_or(name).to_string()
    } else if opts.has('f') || opts.has('d') {
        let fqdn = mine.and_then(|(_, names)| names.first().cloned()).unwrap_or_else(|| name.to_string());
        if opts.has('d') { fqdn.split_once('.').map(|(_, d)| d.to_string()).unwrap_or_default() } else { fqdn }
    } else if opts.has('i') {
        match mine {
            Some((ip, _)) => ip.to_string(),
            None => match call.ctx.resolver.lookup(name, call.ctx.search).first() {
                Some(ip) => ip.to_string(),
                None => {
                    return ExecOutput::fail(1, &format!("hostname: {name}: Unknown host\n"));
                }
            },
        }
    } else {
        name.to_string()
    };
    ExecOutput::with_stdout(format!("{text}\n"))
}

/// The container's `/etc/hosts`: each IPv4 address with its names.
fn hosts_entries(call: &Call) -> Vec<(Ipv4Addr, Vec<String>)> {
    let Ok(data) = call.fs().read("/etc/hosts") else {
        return Vec::new();
    };
    String::from_utf8_lossy(&data)
        .lines()
        .filter_map(|line| {
            let line = line.split('#').next().unwrap_or_default();
            let mut fields = line.split_whitespace();
            let ip = fields.next()?.parse::<Ipv4Addr>().ok()?;
            let names: Vec<String> = fields.map(str::to_string).collect();
            (!names.is_empty()).then_some((ip, names))
        })
        .collect()
}

/// A name's lookup key and search list: a trailing dot means fully qualified.
fn query<'s>(name: &'s str, search: &'s [String]) -> (&'s str, &'s [String]) {
    match name.strip_suffix('.') {
        Some(absolute) => (absolute, &[]),
        None => (name, search),
    }
}

/// Resolves a host as libc would: literal address, `localhost`, `/etc/hosts`, DNS.
pub(super) fn resolve_host(call: &Call, host: &str) -> Option<Ipv4Addr> {
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Some(ip);
    }
    if host.eq_ignore_ascii_case("localhost") {
        return Some(Ipv4Addr::LOCALHOST);
    }
    if let Some((ip, _)) = hosts_entries(call).into_iter().find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(host))) {
        return Some(ip);
    }
    let (name, search) = query(host, call.ctx.search);
    if name.is_empty() {
        return None;
    }
    call.ctx.resolver.lookup(name, search).first().copied()
}

/// `nslookup HOST [SERVER]`, answered by the cluster DNS.
pub(super) fn nslookup(args: &[String], call: &Call) -> ExecOutput {
    let operands: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let Some(name) = operands.first() else {
        return usage("nslookup [-type=QUERY_TYPE] [-debug] HOST [DNS_SERVER]");
    };
    let server = operands.get(1).and_then(|s| s.parse::<Ipv4Addr>().ok()).unwrap_or_else(|| call.ctx.resolver.nameserver());
    let mut text = format!("Server:\t\t{server}\nAddress:\t{server}:53\n\n");
    if let Ok(ip) = name.parse::<Ipv4Addr>() {
        let [a, b, c, d] = ip.octets();
        let _ = write!(text, "** server can't find {d}.{c}.{b}.{a}.in-addr.arpa: NXDOMAIN\n\n");
        return ExecOutput { stdout: text.into_bytes(), stderr: Vec::new(), exit_code: 1 };
    }
    let (qname, search) = query(name, call.ctx.search);
    let addresses = if qname.is_empty() { Vec::new() } else { call.ctx.resolver.lookup(qname, search) };
    if addresses.is_empty() {
        let _ = write!(text, "** server can't find {name}: NXDOMAIN\n\n");
        return ExecOutput { stdout: text.into_bytes(), stderr: Vec::new(), exit_code: 1 };
    }
    let fqdn = call.ctx.resolver.fqdn(qname, search).unwrap_or_else(|| qname.to_string());
    for ip in addresses {
        let _ = writeln!(text, "Name:\t{fqdn}\nAddress: {ip}");
    }
    text.push('\n');
    ExecOutput::with_stdout(text)
}

/// `getent hosts|ahosts|ahostsv4 [NAME]...`: `/etc/hosts`, then the cluster DNS.
pub(super) fn getent(args: &[String], call: &Call) -> ExecOutput {
    let Some((database, keys)) = args.split_first() else {
        return ExecOutput::fail(1, "Usage: getent [OPTION...] database [key ...]\nTry `getent --help' or `getent --usage' for more information.\n");
    };
    let ahosts = matches!(database.as_str(), "ahosts" | "ahostsv4");
    if database != "hosts" && !ahosts {
        return ExecOutput::fail(1, &format!("Unknown database: {database}\nTry `getent --help' or `getent --usage' for more information.\n"));
    }
    let hosts = hosts_entries(call);
    let mut text = String::new();
    let line = |text: &mut String, ip: Ipv4Addr, names: &str| {
        let ip = ip.to_string();
        if ahosts {
            let _ = writeln!(text, "{ip:<15} STREAM {names}");
            let _ = writeln!(text, "{ip:<15} DGRAM  ");
            let _ = writeln!(text, "{ip:<15} RAW    ");
        } else {
            let _ = writeln!(text, "{ip:<15} {names}");
        }
    };
    if keys.is_empty() {
        for (ip, names) in &hosts {
            line(&mut text, *ip, &names.join(" "));
        }
        return ExecOutput::with_stdout(text);
    }
    let mut exit_code = 0;
    for key in keys {
        if let Ok(ip) = key.parse::<Ipv4Addr>() {
            match hosts.iter().find(|(a, _)| *a == ip) {
                Some((_, names)) => line(&mut text, ip, &names.join(" ")),
                None => exit_code = 2,
            }
            continue;
        }
        if let Some((ip, names)) = hosts.iter().find(|(_, names)| names.iter().any(|n| n.eq_ignore_ascii_case(key))) {
            line(&mut text, *ip, &names.join(" "));
            continue;
        }
        if key.eq_ignore_ascii_case("localhost") {
            line(&mut text, Ipv4Addr::LOCALHOST, "localhost");
            continue;
        }
        let (name, search) = query(key, call.ctx.search);
        let addresses = if name.is_empty() { Vec::new() } else { call.ctx.resolver.lookup(name, search) };
        if addresses.is_empty() {
            exit_code = 2;
            continue;
        }
        let fqdn = call.ctx.resolver.fqdn(name, search).unwrap_or_else(|| name.to_string());
        if ahosts {
            for ip in &addresses {
                let ip = ip.to_string();
                let _ = writeln!(text, "{ip:<15} STREAM {fqdn}");
                let _ = writeln!(text, "{ip:<15} DGRAM  ");
                let _ = writeln!(text, "{ip:<15} RAW    ");
            }
        } else {
            for ip in &addresses {
                line(&mut text, *ip, &fqdn);
            }
        }
    }
    ExecOutput { stdout: text.into_bytes(), stderr: Vec::new(), exit_code }
}
