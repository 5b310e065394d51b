//! `sh -c`: quoting, expansions, redirections, pipes and control flow.

use super::{Pod, ok};
use crate::sim::shell::budget::Budget;
use crate::sim::shell::pattern::glob_match;

fn matches(pattern: &str, text: &str) -> bool {
    glob_match(pattern, text, &Budget::default()).expect("within budget")
}

#[test]
fn sh_redirection_and_and() {
    let pod = Pod::new().in_dir("/data");
    assert_eq!(ok(&pod.sh("echo 5 > visits && cat visits")), "5\n");
    assert_eq!(pod.data.read("/visits").expect("read"), b"5\n");
    ok(&pod.sh("echo 6 >> visits; echo 7 >>visits"));
    assert_eq!(ok(&pod.run(&["cat", "visits"])), "5\n6\n7\n");
    ok(&pod.sh("echo 1 >visits"));
    assert_eq!(ok(&pod.run(&["cat", "visits"])), "1\n");
    assert_eq!(ok(&pod.sh("false && echo no; true || echo no; false || echo yes")), "yes\n");
    let out = pod.sh("cat nope && echo after");
    assert_eq!(out.exit_code, 1);
    assert_eq!(out.stdout_text(), "");
    let out = pod.sh("echo hi > /nodir/x");
    assert_eq!(out.stderr_text(), "sh: can't create /nodir/x: nonexistent directory\n");
    assert_eq!(out.exit_code, 1);
    let out = pod.sh("cat < nope");
    assert_eq!(out.stderr_text(), "sh: can't open nope: no such file\n");
    assert_eq!(ok(&pod.sh("cat < visits")), "1\n");
}

#[test]
fn sh_stderr_redirection() {
    let pod = Pod::new().in_dir("/data");
    let out = pod.sh("cat nope 2>&1");
    assert_eq!(out.stdout_text(), "cat: can't open 'nope': No such file or directory\n");
    assert!(out.stderr.is_empty());
    let out = pod.sh("cat nope 2>/dev/null; echo $?");
    assert_eq!(out.stdout_text(), "1\n");
    assert!(out.stderr.is_empty());
    ok(&pod.sh("cat nope > log 2>&1; echo done >&2"));
    assert_eq!(pod.data.read("/log").expect("read"), b"cat: can't open 'nope': No such file or directory\n");
    let out = pod.sh("echo oops >&2");
    assert_eq!(out.stderr_text(), "oops\n");
    ok(&pod.sh("echo both > all 2>&1"));
    assert_eq!(pod.data.read("/all").expect("read"), b"both\n");
}

#[test]
fn sh_quoting_and_variables() {
    let pod = Pod::new();
    assert_eq!(ok(&pod.sh("echo $POD_NAME ${POD_NAME}-x \"$POD_NAME\" '$POD_NAME'")), "web-0 web-0-x web-0 $POD_NAME\n");
    assert_eq!(ok(&pod.sh("echo \"a   b\" a   b")), "a   b a b\n");
    assert_eq!(ok(&pod.sh("X='one two'; echo $X; for w in $X; do echo $w; done")), "one two\none\ntwo\n");
    assert_eq!(ok(&pod.sh("echo \"${UNSET:-default}\" ${POD_NAME%-0} ${HOSTNAME##*-}")), "default web 0\n");
    assert_eq!(ok(&pod.sh("F=/a/b/c.txt; echo ${F##*/} ${F%.*} ${F#/a}")), "c.txt /a/b/c /b/c.txt\n");
    assert_eq!(ok(&pod.sh("echo \\$HOME ~ ~/x")), "$HOME /root /root/x\n");
    assert_eq!(ok(&pod.sh("A=1; B=$A$A; echo $B")), "11\n");
    assert_eq!(ok(&pod.sh("A=1 printenv A; echo \"[$A]\"")), "1\n[]\n");
    assert_eq!(ok(&pod.sh("export A=2; printenv A")), "2\n");
    assert_eq!(ok(&pod.sh("B=3; printenv B; echo $?")), "1\n");
    assert_eq!(ok(&pod.sh("false; echo $?; true; echo $?")), "1\n0\n");
    assert_eq!(ok(&pod.sh("echo \"$(hostname)\" `echo hi`")), "web-0 hi\n");
    assert_eq!(ok(&pod.run(&["sh", "-c", "echo $0 $1 \"$2\"", "me", "a", "b c"])), "me a b c\n");
    assert_eq!(ok(&pod.run(&["sh", "-c", "for a in \"$@\"; do echo \"<$a>\"; done", "sh", "1", "2 3"])), "<1>\n<2 3>\n");
    assert_eq!(ok(&pod.sh("echo a\\ b \"q\\\"uote\"")), "a b q\"uote\n");
}

#[test]
fn sh_arithmetic_counter() {
    let pod = Pod::new().in_dir("/data");
    ok(&pod.sh("echo 5 > visits"));
    ok(&pod.sh("echo $(( $(cat visits) + 1 )) > visits"));
    assert_eq!(ok(&pod.run(&["cat", "visits"])), "6\n");
    assert_eq!(ok(&pod.sh("i=0; i=$((i+1)); echo $((i * 10 % 7)) $((7/2)) $((1<2 && 3>2))")), "3 3 1\n");
    assert_eq!(ok(&pod.sh("echo $(( (1 + 2) * -3 )) $((100 + ${HOSTNAME##*-}))")), "-9 100\n");
    assert_eq!(pod.sh("echo $((2**10))").stderr_text(), "sh: arithmetic syntax error\n");
    let out = pod.sh("echo $((1/0)); echo after");
    assert_eq!(out.exit_code, 2);
    assert_eq!(out.stderr_text(), "sh: divide by zero\n");
    assert_eq!(out.stdout_text(), "");
    let out = pod.sh("echo $((1 +))");
    assert_eq!(out.stderr_text(), "sh: arithmetic syntax error\n");
}

#[test]
fn sh_control_flow() {
    let pod = Pod::new().in_dir("/data");
    assert_eq!(ok(&pod.sh("if [ -f /etc/hostname ]; then echo yes; else echo no; fi")), "yes\n");
    assert_eq!(ok(&pod.sh("if test -d /nope; then echo yes; elif [ 1 -lt 2 ]; then echo elif; fi")), "elif\n");
    assert_eq!(ok(&pod.sh("for i in 1 2 3; do echo $i; done")), "1\n2\n3\n");
    assert_eq!(ok(&pod.sh("i=0; while [ $i -lt 3 ]; do i=$((i+1)); echo $i; done")), "1\n2\n3\n");
    assert_eq!(ok(&pod.sh("for i in 1 2 3 4; do [ $i = 3 ] && break; echo $i; done")), "1\n2\n");
    assert_eq!(ok(&pod.sh("for i in 1 2 3; do [ $i = 2 ] && continue; echo $i; done")), "1\n3\n");
    assert_eq!(ok(&pod.sh("while true; do echo once; break; done")), "once\n");
    assert_eq!(ok(&pod.sh("{ echo a; echo b; } > f; cat f")), "a\nb\n");
    assert_eq!(ok(&pod.sh("(cd /etc; pwd); pwd")), "/etc\n/data\n");
    assert_eq!(ok(&pod.sh("cd /etc && cat hostname")), "web-0\n");
    assert_eq!(ok(&pod.sh("! false && echo negated")), "negated\n");
    assert_eq!(pod.sh("exit 3").exit_code, 3);
    assert_eq!(pod.sh("echo a; exit 4; echo b").stdout_text(), "a\n");
    let out = pod.sh("set -e; false; echo unreachable");
    assert_eq!(out.exit_code, 1);
    assert_eq!(out.stdout_text(), "");
    assert_eq!(ok(&pod.sh("set -e; false || true; if false; then :; fi; echo reached")), "reached\n");
    let out = pod.sh("cd /nope");
    assert_eq!(out.stderr_text(), "sh: cd: can't cd to /nope: No such file or directory\n");
}

#[test]
fn sh_pipes() {
    let pod = Pod::new().in_dir("/data");
    ok(&pod.sh("echo -e 'a\\nb\\nc' > lines"));
    assert_eq!(ok(&pod.sh("cat lines | wc -l")), "3\n");
    assert_eq!(ok(&pod.sh("cat lines | grep -v b | head -n 1")), "a\n");
    assert_eq!(ok(&pod.sh("grep -c '^[ab]$' lines")), "2\n");
    assert_eq!(ok(&pod.sh("tail -n 2 lines | nosuch 2>/dev/null; tail -1 lines")), "c\n");
    assert_eq!(ok(&pod.sh("echo -e 'x y\\nz w' | while read a b; do echo \"$b-$a\"; done")), "y-x\nw-z\n");
    assert_eq!(pod.sh("echo x | grep -q y").exit_code, 1);
    assert_eq!(ok(&pod.sh("for i in 1 2 3 10; do echo $i; done | grep -E '^(1|3)$'")), "1\n3\n");
    assert_eq!(ok(&pod.sh("ls /etc | grep host")), "hostname\nhosts\n");
    assert_eq!(ok(&pod.sh("wc -c < lines")), "6\n");
    assert_eq!(ok(&pod.sh("wc -l lines")), "3 lines\n");
}

#[test]
fn sh_globs() {
    let pod = Pod::new().in_dir("/data");
    ok(&pod.sh("touch a.txt b.txt c.log .hidden"));
    assert_eq!(ok(&pod.sh("echo *.txt")), "a.txt b.txt\n");
    assert_eq!(ok(&pod.sh("echo /data/*")), "/data/a.txt /data/b.txt /data/c.log\n");
    assert_eq!(ok(&pod.sh("echo [ab].* '*.txt' nomatch*")), "a.txt b.txt *.txt nomatch*\n");
    assert_eq!(ok(&pod.sh("rm *.txt; ls")), "c.log\n");
    assert!(matches("web-?", "web-0"));
    assert!(matches("*.t[xX]t", "notes.tXt"));
    assert!(!matches("*.txt", "notes.log"));
    assert!(matches("a\\*", "a*"));
    assert!(!matches("a\\*", "ab"));
}

#[test]
fn sh_syntax_errors() {
    let pod = Pod::new();
    let out = pod.sh("echo 'unterminated");
    assert_eq!(out.exit_code, 2);
    assert_eq!(out.stderr_text(), "sh: syntax error: unterminated quoted string\n");
    let out = pod.sh("if true; then echo x");
    assert_eq!(out.stderr_text(), "sh: syntax error: unexpected end of file (expecting \"fi\")\n");
    let out = pod.sh("fi");
    assert_eq!(out.stderr_text(), "sh: syntax error: unexpected \"fi\"\n");
    let out = pod.sh("echo a && ; echo b");
    assert_eq!(out.exit_code, 2);
    let out = pod.sh("echo ${x");
    assert_eq!(out.exit_code, 2);
    let out = pod.run(&["sh", "-c"]);
    assert_eq!(out.stderr_text(), "sh: -c requires an argument\n");
}

#[test]
fn sh_reads_scripts_and_stdin() {
    let pod = Pod::new().in_dir("/data");
    ok(&pod.sh("echo 'echo from script $1' > run.sh"));
    assert_eq!(ok(&pod.run(&["sh", "run.sh", "arg"])), "from script arg\n");
    assert_eq!(ok(&pod.run_stdin(&["sh"], b"echo via stdin\n")), "via stdin\n");
    ok(&pod.run_stdin(&["sh", "-c", "cat > uploaded"], b"payload"));
    assert_eq!(pod.data.read("/uploaded").expect("read"), b"payload");
    let out = pod.run(&["sh", "missing.sh"]);
    assert_eq!(out.exit_code, 2);
    assert_eq!(out.stderr_text(), "sh: can't open 'missing.sh': No such file or directory\n");
    let out = pod.run(&["/data"]);
    assert_eq!(out.exit_code, 126);
}

#[test]
fn test_builtin() {
    let pod = Pod::new();
    assert_eq!(pod.run(&["test", "-f", "/etc/hosts"]).exit_code, 0);
    assert_eq!(pod.run(&["test", "-d", "/etc/hosts"]).exit_code, 1);
    assert_eq!(pod.run(&["[", "-d", "/data", "]"]).exit_code, 0);
    assert_eq!(pod.run(&["[", "a", "=", "a", "]"]).exit_code, 0);
    assert_eq!(pod.run(&["[", "-n", "", "]"]).exit_code, 1);
    assert_eq!(pod.run(&["[", "!", "-e", "/x", "-a", "3", "-ge", "2", "]"]).exit_code, 0);
    assert_eq!(pod.run(&["[", "1", "-eq", "1"]).exit_code, 2);
    assert_eq!(pod.run(&["test", "x", "-lt", "2"]).exit_code, 2);
    assert_eq!(pod.run(&["test"]).exit_code, 1);
    assert_eq!(pod.sh("[ -w /etc/config/app.conf ]").exit_code, 1);
}
