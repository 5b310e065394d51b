//! Every name and number a request brings is checked here before it reaches the
//! cluster or the disk, and refused with a sentence that says what was wrong.

use app::error::ActionError;

/// The most replicas the scale buttons allow (a classroom lab, not a load test).
pub const MAX_REPLICAS: i32 = 20;
/// How much of a bad value an error message quotes.
const QUOTE: usize = 40;

/// The pod management policies Kubernetes knows.
pub const POLICIES: [&str; 2] = ["OrderedReady", "Parallel"];

fn quoted(value: &str) -> String {
    let mut shown: String = value.chars().take(QUOTE).collect();
    if value.chars().count() > QUOTE {
        shown.push('…');
    }
    format!("{shown:?}")
}

/// Checks that `value` is a DNS-1123 subdomain, as Kubernetes requires of StatefulSet
/// and pod names: at most 253 characters of lowercase letters, digits, `-` and `.`,
/// each dot-separated part starting and ending with a letter or digit.
pub fn object_name<'a>(what: &str, value: &'a str) -> Result<&'a str, ActionError> {
    let parts_ok = value.split('.').all(|part| {
        !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') && !part.starts_with('-') && !part.ends_with('-')
    });
    if value.is_empty() || value.len() > 253 || !parts_ok {
        return Err(ActionError::Invalid(format!(
            "{} is not a valid {what} name: Kubernetes names are up to 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
            quoted(value)
        )));
    }
    Ok(value)
}

/// Checks a pod management policy.
pub fn policy(value: &str) -> Result<&str, ActionError> {
    POLICIES
        .iter()
        .find(|p| **p == value)
        .copied()
        .ok_or_else(|| ActionError::Invalid(format!("podManagementPolicy must be OrderedReady or Parallel, not {}", quoted(value))))
}

/// Parses and checks a replica count.
pub fn replicas(value: &str) -> Result<i32, ActionError> {
    let out_of_range = || ActionError::Invalid(format!("replicas must be a whole number from 0 to {MAX_REPLICAS}, not {}", quoted(value)));
    let n: i64 = value.trim().parse().map_err(|_| out_of_range())?;
    i32::try_from(n).ok().filter(|n| (0..=MAX_REPLICAS).contains(n)).ok_or_else(out_of_range)
}

/// Checks a fault name (`readiness`, `liveness`, `app`); returns it with its annotation.
pub fn fault(value: &str) -> Result<(&'static str, &'static str), ActionError> {
    crate::mapping::pods::FAULTS
        .iter()
        .find(|(name, _)| *name == value)
        .copied()
        .ok_or_else(|| ActionError::Invalid(format!("fault must be readiness, liveness or app, not {}", quoted(value))))
}

/// Checks a fault action: `break` (true) or `heal` (false).
pub fn fault_action(value: &str) -> Result<bool, ActionError> {
    match value {
        "break" => Ok(true),
        "heal" => Ok(false),
        _ => Err(ActionError::Invalid(format!("action must be break or heal, not {}", quoted(value)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_names_pass_and_everything_else_is_refused_with_a_sentence() {
        for ok in ["web", "web-0", "a", "db.v2", "x1-y2"] {
            assert_eq!(object_name("StatefulSet", ok), Ok(ok));
        }
        for bad in ["", "Web", "web?/../../../x", "web/1", "../etc", "web%2F", "-web", "web-", "a..b", "wéb", "web 1", "web\0", &"a".repeat(254)] {
            let e = object_name("StatefulSet", bad).expect_err(bad);
            assert_eq!(e.status(), 400, "{bad}");
            assert!(e.to_string().contains("not a valid StatefulSet name"), "{e}");
        }
    }

    #[test]
    fn long_values_are_quoted_short() {
        let e = object_name("pod", &"x/".repeat(10_000)).expect_err("refused");
        assert!(e.to_string().len() < 300, "{e}");
    }

    #[test]
    fn policies_and_replicas_have_fixed_ranges() {
        assert_eq!(policy("Parallel"), Ok("Parallel"));
        assert!(policy("parallel").is_err());
        assert!(policy("").is_err());
        assert_eq!(replicas("5"), Ok(5));
        assert_eq!(replicas("0"), Ok(0));
        for bad in ["-1", "21", "99999999999999999999", "2147483648", "1.5", "", "3; rm -rf /", "NaN"] {
            assert_eq!(replicas(bad).map_err(|e| e.status()), Err(400), "{bad}");
        }
    }

    #[test]
    fn faults_and_their_actions_are_a_closed_list() {
        assert_eq!(fault("readiness"), Ok(("readiness", "stslab.dev/fail-readiness")));
        assert_eq!(fault("app"), Ok(("app", "stslab.dev/crash")));
        for bad in ["", "Readiness", "startup", "stslab.dev/crash", "readiness\n"] {
            assert_eq!(fault(bad).map_err(|e| e.status()), Err(400), "{bad}");
        }
        assert_eq!((fault_action("break"), fault_action("heal")), (Ok(true), Ok(false)));
        assert!(fault_action("fix").is_err() && fault_action("").is_err());
    }
}
