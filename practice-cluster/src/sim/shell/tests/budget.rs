//! Every exec ends, whatever it runs: the budget of CPU work (counted per command, loop
//! turn and pattern-matching step) and of output, and the nesting bounds.

use super::{Pod, ok};
use crate::sim::shell::budget::MAX_OUTPUT;
use crate::sim::shell::commands::COMMANDS;

const OUT_OF_CPU: &str = "sh: stopped: this exec used its CPU budget (about 20000 commands)\n";

#[test]
fn an_endless_loop_stops_with_a_message() {
    let pod = Pod::new();
    let out = pod.sh("while true; do :; done");
    assert_eq!((out.exit_code, out.stderr_text().as_str()), (1, OUT_OF_CPU));
    // Commands after the loop do not run.
    let out = pod.sh("for i in 1 2 3; do while :; do :; done; done; echo after");
    assert_eq!((out.exit_code, out.stdout_text().as_str(), out.stderr_text().as_str()), (1, "", OUT_OF_CPU));
    let out = pod.sh("while true; do echo 0123456789; sleep 1; done");
    assert_eq!((out.exit_code, out.stderr_text().as_str()), (1, OUT_OF_CPU));
    assert!(out.stdout_text().starts_with("0123456789\n0123456789\n"));
}

#[test]
fn a_pathological_shell_pattern_stops_with_a_message() {
    let pod = Pod::new();
    // Each of the 100,001 prefixes is matched against a pattern with ten stars: about
    // 10^11 steps without a budget.
    let script = format!("x={}; echo ${{x##{}b}}; echo done", "a".repeat(100_000), "*a".repeat(10));
    let out = pod.sh(&script);
    assert_eq!((out.exit_code, out.stdout_text().as_str(), out.stderr_text().as_str()), (1, "", OUT_OF_CPU));
    // An ordinary one costs nothing noticeable.
    assert_eq!(ok(&pod.sh("echo ${HOSTNAME##*-}")), "0\n");
}

#[test]
fn a_pathological_grep_pattern_stops_with_a_message() {
    let pod = Pod::new();
    pod.data.write("/big", format!("{}\n", "a".repeat(200_000))).expect("write");
    let pattern = format!("{}b", "a*".repeat(100));
    let out = pod.run(&["grep", &pattern, "/data/big"]);
    assert_ne!(out.exit_code, 0);
    assert_eq!(out.stderr_text(), "grep: stopped: this exec used its CPU budget (about 20000 commands)\n");
    assert_eq!(ok(&pod.run(&["grep", "-c", "a*b*a", "/data/big"])), "1\n");
}

#[test]
fn an_output_flood_is_cut_at_the_budget() {
    let pod = Pod::new();
    let line = "y".repeat(64 << 10);
    let out = pod.sh(&format!("while true; do echo {line}; done"));
    assert_eq!(out.exit_code, 1);
    assert_eq!(out.stdout.len() as u64, MAX_OUTPUT);
    assert_eq!(out.stderr_text(), "sh: stopped: this exec wrote more than its 16 MiB output budget\n");
    // One command alone is cut too.
    pod.data.write("/huge", vec![b'x'; (MAX_OUTPUT + 1) as usize]).expect("write");
    let out = pod.run(&["cat", "/data/huge"]);
    assert_eq!((out.exit_code, out.stdout.len() as u64), (1, MAX_OUTPUT));
    assert_eq!(out.stderr_text(), "cat: stopped: this exec wrote more than its 16 MiB output budget\n");
}

#[test]
fn the_budget_is_per_exec_and_allows_real_work() {
    let pod = Pod::new().in_dir("/data");
    let script = "i=0; while [ $i -lt 1000 ]; do echo $i >> counts; i=$((i+1)); done; wc -l < counts";
    assert_eq!(ok(&pod.sh(script)), "1000\n");
    // The next exec starts with a full budget.
    assert_eq!(ok(&pod.sh(script)), "2000\n");
}

#[test]
fn nesting_is_bounded() {
    let pod = Pod::new();
    let out = pod.sh("x=a; while true; do x=$x$x; done");
    assert_eq!((out.exit_code, out.stderr_text().as_str()), (2, "sh: out of memory\n"));
    assert_eq!(ok(&pod.sh("sh -c 'sh -c \"sh -c \\\"echo deep\\\"\"'")), "deep\n");
    let deep = format!("{}true{}", "(".repeat(500), ")".repeat(500));
    assert_eq!(pod.sh(&deep).exit_code, 2);
    let deep = format!("echo $(({}1{}))", "(".repeat(5000), ")".repeat(5000));
    assert_eq!(pod.sh(&deep).exit_code, 2);
    let nested = "echo $(".repeat(40) + &")".repeat(40);
    assert!(pod.sh(&nested).stderr_text().contains("too many nested"));
    let braces = "echo ${A:-".repeat(3000) + &"}".repeat(3000);
    assert_eq!(pod.sh(&braces).exit_code, 2);
    let ariths = "echo $((1+".repeat(3000) + &"))".repeat(3000);
    assert_eq!(pod.sh(&ariths).exit_code, 2);
    let out = pod.sh("echo 'sh /tmp/s' > /tmp/s; sh /tmp/s");
    assert!(out.stderr_text().contains("too many nested shells"), "{}", out.stderr_text());
}

#[test]
fn arbitrary_input_never_panics() {
    let pod = Pod::new().in_dir("/data");
    let alphabet: Vec<char> = " \t\n;&|()<>'\"\\$`{}[]*?~#=!-+/:.,%0123456789abcxyz".chars().collect();
    let words = [
        "echo", "cat", "ls", "if", "then", "fi", "for", "in", "do", "done", "while", "$((", "$(", "${", "2>&1", ">>", "x", "test", "[", "]", "&&", "||", "rm",
        "-rf", "case",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..3000 {
        let len = (next() % 24) as usize;
        let mut script = String::new();
        for _ in 0..len {
            if next() % 3 == 0 {
                let w = words[(next() % words.len() as u64) as usize];
                script.push_str(w);
                script.push(' ');
            } else {
                script.push(alphabet[(next() % alphabet.len() as u64) as usize]);
            }
        }
        let _ = pod.sh(&script);
        let argv: Vec<&str> = script.split(' ').collect();
        let _ = pod.run(&argv);
    }
    for cmd in COMMANDS.iter().map(|c| c.name) {
        for args in [
            &[][..],
            &["-"][..],
            &["--"][..],
            &["-z"][..],
            &["--bogus"][..],
            &[""][..],
            &["-n"][..],
            &["-n", "-5"][..],
            &["/"][..],
            &["a", "b", "c"][..],
            &["-O"][..],
            &["%"][..],
            &["%99999999999d", "1"][..],
            &["http://"][..],
            &["http://x:99999/"][..],
            &["-c"][..],
        ] {
            let mut argv = vec![cmd];
            argv.extend_from_slice(args);
            let _ = pod.run(&argv);
        }
    }
}

/// How long a runaway exec runs before its budget stops it. Prints figures, asserts
/// nothing: `cargo test -p practice-cluster --release --lib budget_figures -- --ignored --nocapture`.
#[test]
#[ignore = "prints timings"]
fn budget_figures() {
    let pod = Pod::new();
    pod.data.write("/big", format!("{}\n", "a".repeat(200_000))).expect("write");
    let scripts = [
        ("while true; do :; done", "while true; do :; done".to_string()),
        ("${x##*a*a*a*a*a*a*a*a*a*a*b} on 100k chars", format!("x={}; echo ${{x##{}b}}", "a".repeat(100_000), "*a".repeat(10))),
        ("grep a*a*...b (100 stars) on a 200k line", format!("grep '{}b' /data/big", "a*".repeat(100))),
        ("echo 64 KiB in a loop", format!("while true; do echo {}; done", "y".repeat(64 << 10))),
    ];
    for (what, script) in scripts {
        let started = std::time::Instant::now();
        let out = pod.sh(&script);
        println!("{what}: {:?}, exit {}, {} bytes out", started.elapsed(), out.exit_code, out.stdout.len());
    }
}
