//! Each command, as a student types it in `kubectl exec`.

use super::{Pod, ok};
use crate::sim::fs::Fs;
use crate::sim::shell::ExecOutput;

#[test]
fn cat_relative_to_cwd() {
    let pod = Pod::new().in_dir("/data");
    pod.data.write("/visits", "5\n").expect("write");
    assert_eq!(ok(&pod.run(&["cat", "visits"])), "5\n");
    assert_eq!(ok(&pod.run(&["cat", "./visits", "/data/visits"])), "5\n5\n");
    assert_eq!(ok(&pod.run(&["cat", "../etc/hostname"])), "web-0\n");
}

#[test]
fn cat_errors_are_busybox_style() {
    let pod = Pod::new().in_dir("/data");
    let out = pod.run(&["cat", "visits"]);
    assert_eq!(out.exit_code, 1);
    assert_eq!(out.stderr_text(), "cat: can't open 'visits': No such file or directory\n");
    let out = pod.run(&["cat", "/data"]);
    assert_eq!(out.exit_code, 1);
    assert_eq!(out.stderr_text(), "cat: read error: Is a directory\n");
    let out = pod.run(&["cat", "/etc/hostname", "nope"]);
    assert_eq!(out.exit_code, 1);
    assert_eq!(out.stdout_text(), "web-0\n");
}

#[test]
fn cat_without_arguments_reads_stdin() {
    let pod = Pod::new();
    assert_eq!(pod.run(&["cat"]), ExecOutput::default());
    assert_eq!(ok(&pod.run_stdin(&["cat"], b"piped\n")), "piped\n");
    assert_eq!(ok(&pod.run(&["cat", "-n", "/etc/hostname"])), "     1\tweb-0\n");
}

#[test]
fn commands_by_path() {
    let pod = Pod::new();
    assert_eq!(ok(&pod.run(&["/bin/cat", "/etc/hostname"])), "web-0\n");
    assert_eq!(ok(&pod.run(&["/usr/bin/env", "printenv", "POD_NAME"])), "web-0\n");
}

#[test]
fn unknown_command_exits_127() {
    let pod = Pod::new();
    let out = pod.run(&["foo", "bar"]);
    assert_eq!(out.exit_code, 127);
    assert!(out.stdout.is_empty());
    assert!(out.stderr_text().contains("exec: \"foo\": executable file not found in $PATH"), "{}", out.stderr_text());
    let out = pod.run(&["/opt/app"]);
    assert_eq!(out.exit_code, 127);
    assert!(out.stderr_text().contains("stat /opt/app: no such file or directory"));
    let out = pod.sh("foo");
    assert_eq!(out.exit_code, 127);
    assert_eq!(out.stderr_text(), "sh: foo: not found\n");
    // Removed commands are unknown like any other.
    let out = pod.sh("cp a b; echo $?");
    assert_eq!((out.stdout_text().as_str(), out.stderr_text().as_str()), ("127\n", "sh: cp: not found\n"));
    // Files written in the container are not executable.
    ok(&pod.sh("echo 'echo hi' > /tmp/run.sh"));
    let out = pod.run(&["/tmp/run.sh"]);
    assert_eq!(out.exit_code, 126);
    let out = pod.sh("/tmp/run.sh");
    assert_eq!((out.exit_code, out.stderr_text().as_str()), (126, "sh: /tmp/run.sh: Permission denied\n"));
    assert_eq!(pod.run(&[]).exit_code, 127);
}

#[test]
fn writes_land_on_the_longest_mount() {
    let pod = Pod::new();
    let nested = Fs::new();
    let mut pod = pod;
    pod.table.mount("/data/cache", nested.clone(), false);
    ok(&pod.sh("echo 1 > /data/a; echo 2 > /data/cache/b; echo 3 > /tmp/c"));
    assert_eq!(pod.data.read("/a").expect("read"), b"1\n");
    assert_eq!(nested.read("/b").expect("read"), b"2\n");
    assert!(!pod.data.exists("/cache/b"));
    assert_eq!(pod.table.root().read("/tmp/c").expect("read"), b"3\n");
    assert_eq!(ok(&pod.run(&["ls", "/data"])), "a\ncache\n");
}

#[test]
fn read_only_mount_refuses_writes() {
    let pod = Pod::new();
    assert_eq!(ok(&pod.run(&["cat", "/etc/config/app.conf"])), "color=blue\n");
    let out = pod.sh("echo red > /etc/config/app.conf");
    assert_eq!(out.exit_code, 1);
    assert_eq!(out.stderr_text(), "sh: can't create /etc/config/app.conf: Read-only file system\n");
    let out = pod.run(&["touch", "/etc/config/new"]);
    assert_eq!(out.exit_code, 1);
    assert_eq!(out.stderr_text(), "touch: /etc/config/new: Read-only file system\n");
    let out = pod.run(&["rm", "/etc/config/app.conf"]);
    assert_eq!(out.stderr_text(), "rm: can't remove '/etc/config/app.conf': Read-only file system\n");
    let out = pod.run(&["mkdir", "/etc/config/d"]);
    assert_eq!(out.stderr_text(), "mkdir: can't create directory '/etc/config/d': Read-only file system\n");
    assert_eq!(ok(&pod.run(&["cat", "/etc/config/app.conf"])), "color=blue\n");
}

#[test]
fn ls_lists_sorted_and_long() {
    let pod = Pod::new().in_dir("/data");
    pod.data.write("/b.txt", "12345").expect("write");
    pod.data.write("/a.txt", "1").expect("write");
    pod.data.write("/.hidden", "1").expect("write");
    pod.data.create_dir("/sub").expect("mkdir");
    assert_eq!(ok(&pod.run(&["ls"])), "a.txt\nb.txt\nsub\n");
    assert_eq!(ok(&pod.run(&["ls", "-a"])), ".\n..\n.hidden\na.txt\nb.txt\nsub\n");
    assert_eq!(ok(&pod.run(&["ls", "/"])), "data\netc\nroot\ntmp\n");
    assert_eq!(ok(&pod.run(&["ls", "b.txt"])), "b.txt\n");
    let long = ok(&pod.run(&["ls", "-l"]));
    let lines: Vec<&str> = long.lines().collect();
    assert_eq!(lines.first().copied(), Some("total 12"));
    let b = lines.get(2).copied().unwrap_or_default();
    assert!(b.starts_with("-rw-r--r--    1 root     root             5 "), "{b}");
    assert!(b.ends_with(" b.txt"), "{b}");
    let sub = lines.get(3).copied().unwrap_or_default();
    assert!(sub.starts_with("drwxr-xr-x    2 root     root          4096 "), "{sub}");
    let out = pod.run(&["ls", "x"]);
    assert_eq!(out.exit_code, 1);
    assert_eq!(out.stderr_text(), "ls: x: No such file or directory\n");
    assert_eq!(ok(&pod.run(&["ls", "/etc/config", "sub"])), "/etc/config:\napp.conf\n\nsub:\n");
    let out = pod.run(&["ls", "-z"]);
    assert_eq!(out.exit_code, 1);
    assert_eq!(out.stderr_text(), "ls: invalid option -- 'z'\n");
}

#[test]
fn simple_commands() {
    let pod = Pod::new().in_dir("/data");
    assert_eq!(ok(&pod.run(&["echo", "hello", "world"])), "hello world\n");
    assert_eq!(ok(&pod.run(&["echo", "-n", "x"])), "x");
    assert_eq!(ok(&pod.run(&["echo", "-e", "a\\tb"])), "a\tb\n");
    assert_eq!(ok(&pod.run(&["echo", "a\\tb"])), "a\\tb\n");
    assert_eq!(ok(&pod.run(&["echo"])), "\n");
    assert_eq!(ok(&pod.run(&["hostname"])), "web-0\n");
    assert_eq!(ok(&pod.run(&["hostname", "-f"])), "web-0.web.default.svc.cluster.local\n");
    assert_eq!(ok(&pod.run(&["hostname", "-i"])), "10.244.0.6\n");
    assert_eq!(ok(&pod.run(&["pwd"])), "/data\n");
    assert!(ok(&pod.run(&["env"])).contains("POD_NAME=web-0\n"));
    assert_eq!(ok(&pod.run(&["printenv", "POD_NAME"])), "web-0\n");
    assert_eq!(pod.run(&["printenv", "NOPE"]).exit_code, 1);
    assert_eq!(ok(&pod.run(&["env", "A=1", "printenv", "A"])), "1\n");
    assert_eq!(pod.run(&["true"]).exit_code, 0);
    assert_eq!(pod.run(&["false"]).exit_code, 1);
    assert_eq!(pod.run(&["sleep", "3600"]), ExecOutput::default());
    assert_eq!(pod.run(&["sleep", "1.5s"]).exit_code, 0);
    assert_eq!(pod.run(&["sleep", "soon"]).stderr_text(), "sleep: invalid number 'soon'\n");
}

#[test]
fn date_uses_the_cluster_clock_and_sleep_moves_it() {
    let pod = Pod::new();
    assert_eq!(ok(&pod.run(&["date"])), "Tue Nov 14 22:13:20 UTC 2023\n");
    assert_eq!(ok(&pod.run(&["date", "+%F %T"])), "2023-11-14 22:13:20\n");
    // `sleep` returns at once, but the exec's clock moves as if it had slept.
    assert_eq!(ok(&pod.sh("date +%T; sleep 90; date +%T; sleep 1.5m; date +%T")), "22:13:20\n22:14:50\n22:16:20\n");
    assert_eq!(ok(&pod.run(&["date", "+%T"])), "22:13:20\n", "each exec starts at the cluster's time");
    assert_eq!(pod.run(&["date", "-s", "2020-01-01"]).exit_code, 1);
}

#[test]
fn touch_mkdir_rm() {
    let pod = Pod::new().in_dir("/data");
    ok(&pod.run(&["touch", "a", "b"]));
    assert_eq!(ok(&pod.run(&["ls"])), "a\nb\n");
    ok(&pod.run(&["mkdir", "-p", "x/y/z"]));
    assert!(pod.data.is_dir("/x/y/z"));
    let out = pod.run(&["mkdir", "x"]);
    assert_eq!(out.stderr_text(), "mkdir: can't create directory 'x': File exists\n");
    let out = pod.run(&["mkdir", "q/r"]);
    assert_eq!(out.stderr_text(), "mkdir: can't create directory 'q/r': No such file or directory\n");
    let out = pod.run(&["touch", "q/r"]);
    assert_eq!(out.stderr_text(), "touch: q/r: No such file or directory\n");
    let out = pod.run(&["rm", "x"]);
    assert_eq!(out.exit_code, 1);
    assert_eq!(out.stderr_text(), "rm: 'x' is a directory\n");
    ok(&pod.run(&["rm", "-rf", "x", "missing"]));
    assert!(!pod.data.exists("/x"));
    let out = pod.run(&["rm", "missing"]);
    assert_eq!(out.stderr_text(), "rm: can't remove 'missing': No such file or directory\n");
    let out = pod.run(&["rm", "-r", "/data"]);
    assert_eq!(out.stderr_text(), "rm: can't remove '/data': Device or resource busy\n");
    assert!(pod.data.list("/").expect("list").is_empty());
}

#[test]
fn rm_then_cat_fails() {
    let pod = Pod::new().in_dir("/data");
    ok(&pod.sh("echo 5 > visits"));
    assert_eq!(ok(&pod.run(&["cat", "visits"])), "5\n");
    ok(&pod.run(&["rm", "visits"]));
    let out = pod.run(&["cat", "visits"]);
    assert_eq!(out.exit_code, 1);
    assert_eq!(out.stderr_text(), "cat: can't open 'visits': No such file or directory\n");
}

#[test]
fn nslookup_found() {
    let pod = Pod::new();
    let out = pod.run(&["nslookup", "web-0.web"]);
    assert_eq!(ok(&out), "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\nName:\tweb-0.web.default.svc.cluster.local\nAddress: 10.244.0.6\n\n");
    let out = pod.run(&["nslookup", "web"]);
    assert_eq!(
        ok(&out),
        "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\nName:\tweb.default.svc.cluster.local\nAddress: 10.244.0.6\nName:\tweb.default.svc.cluster.local\nAddress: 10.244.0.7\n\n"
    );
    let out = pod.run(&["nslookup", "web-1.web.default.svc.cluster.local."]);
    assert!(ok(&out).contains("Address: 10.244.0.7\n"));
}

#[test]
fn nslookup_not_found() {
    let pod = Pod::new();
    let out = pod.run(&["nslookup", "web-5.web"]);
    assert_eq!(out.exit_code, 1);
    assert_eq!(out.stdout_text(), "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n** server can't find web-5.web: NXDOMAIN\n\n");
    assert_eq!(pod.run(&["nslookup"]).exit_code, 1);
    let out = pod.run(&["nslookup", "10.244.0.6"]);
    assert!(out.stdout_text().contains("6.0.244.10.in-addr.arpa: NXDOMAIN"));
}

#[test]
fn getent_hosts() {
    let pod = Pod::new();
    assert_eq!(ok(&pod.run(&["getent", "hosts", "web-1.web"])), "10.244.0.7      web-1.web.default.svc.cluster.local\n");
    assert_eq!(ok(&pod.run(&["getent", "hosts", "web"])), "10.244.0.6      web.default.svc.cluster.local\n10.244.0.7      web.default.svc.cluster.local\n");
    assert_eq!(ok(&pod.run(&["getent", "hosts", "web-0"])), "10.244.0.6      web-0.web.default.svc.cluster.local web-0\n");
    let out = pod.run(&["getent", "hosts", "web-9.web"]);
    assert_eq!(out, ExecOutput { exit_code: 2, ..ExecOutput::default() });
    assert_eq!(pod.run(&["getent", "nope", "x"]).exit_code, 1);
    assert!(ok(&pod.run(&["getent", "ahosts", "web-1.web"])).starts_with("10.244.0.7      STREAM web-1"));
}

#[test]
fn wget_fetches_and_reports_errors() {
    let pod = Pod::new().in_dir("/data");
    assert_eq!(ok(&pod.run(&["wget", "-qO-", "http://web-1.web"])), "hello from web-1.web\n");
    assert_eq!(ok(&pod.run(&["wget", "-q", "-O", "-", "web-1.web/x?y=1"])), "path /x?y=1\n");
    let out = pod.run(&["wget", "-O-", "http://web-1.web/"]);
    assert_eq!(out.stdout_text(), "hello from web-1.web\n");
    assert!(out.stderr_text().starts_with("Connecting to web-1.web (10.244.0.7:80)\nwriting to stdout\n"));
    let out = pod.run(&["wget", "-qO-", "http://down"]);
    assert_eq!(out.exit_code, 1);
    assert_eq!(out.stderr_text(), "wget: can't connect to remote host (10.244.0.9): Connection refused\n");
    let out = pod.run(&["wget", "-qO-", "http://nosuch"]);
    assert_eq!(out.exit_code, 1);
    assert_eq!(out.stderr_text(), "wget: bad address 'nosuch'\n");
    let out = pod.run(&["wget", "-qO-", "http://web-1.web/missing"]);
    assert_eq!(out.exit_code, 1);
    assert_eq!(out.stderr_text(), "wget: server returned error: HTTP/1.1 404 Not Found\n");
    ok(&pod.run(&["wget", "-q", "http://web-1.web/"]));
    assert_eq!(pod.data.read("/index.html").expect("saved"), b"hello from web-1.web\n");
    let out = pod.run(&["wget", "-q", "http://web-1.web/"]);
    assert_eq!(out.stderr_text(), "wget: can't open 'index.html': File exists\n");
}

#[test]
fn curl_fetches_and_reports_errors() {
    let pod = Pod::new().in_dir("/data");
    assert_eq!(ok(&pod.run(&["curl", "-s", "http://web-1.web"])), "hello from web-1.web\n");
    assert_eq!(ok(&pod.run(&["curl", "-sS", "10.244.0.6:80/"])), "hello from 10.244.0.6\n");
    let out = pod.run(&["curl", "web-1.web"]);
    assert_eq!(out.stdout_text(), "hello from web-1.web\n");
    assert!(out.stderr_text().contains("% Total"));
    let out = pod.run(&["curl", "http://down"]);
    assert_eq!(out.exit_code, 7);
    assert!(out.stderr_text().contains("curl: (7) Failed to connect to down port 80"), "{}", out.stderr_text());
    let out = pod.run(&["curl", "-s", "http://down"]);
    assert_eq!(out, ExecOutput { exit_code: 7, ..ExecOutput::default() });
    let out = pod.run(&["curl", "-sS", "http://nosuch"]);
    assert_eq!(out.exit_code, 6);
    assert_eq!(out.stderr_text(), "curl: (6) Could not resolve host: nosuch\n");
    let out = pod.run(&["curl", "-s", "http://web-1.web/missing"]);
    assert_eq!(ok(&out), "404 page not found\n");
    let out = pod.run(&["curl", "-sf", "http://web-1.web/missing"]);
    assert_eq!(out.exit_code, 22);
    let out = pod.run(&["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}\\n", "web-1.web/missing"]);
    assert_eq!(ok(&out), "404\n");
    ok(&pod.run(&["curl", "-s", "-o", "page", "web-1.web"]));
    assert_eq!(pod.data.read("/page").expect("saved"), b"hello from web-1.web\n");
    let out = pod.run(&["curl"]);
    assert_eq!(out.exit_code, 2);
    assert!(out.stderr_text().starts_with("curl: no URL specified!"));
    let out = pod.run(&["curl", "-z", "x"]);
    assert_eq!(out.exit_code, 2);
    assert!(out.stderr_text().starts_with("curl: option -z: is unknown"), "{}", out.stderr_text());
}
