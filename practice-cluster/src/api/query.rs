//! Query parameters of API requests, and label and field selectors.

use std::collections::BTreeMap;

use super::error::ApiError;

/// The query parameters the API understands.
#[derive(Debug, Default, Clone)]
pub struct Params {
    /// Every pair as sent, in order (repeated keys such as `command` kept).
    pub pairs: Vec<(String, String)>,
    /// `watch=true`.
    pub watch: bool,
    /// `resourceVersion`.
    pub resource_version: Option<String>,
    /// `timeoutSeconds`.
    pub timeout_seconds: Option<u64>,
    /// `allowWatchBookmarks=true`.
    pub bookmarks: bool,
    /// `sendInitialEvents=true`.
    pub send_initial_events: bool,
    /// `limit`.
    pub limit: Option<usize>,
    /// `continue`.
    pub continue_token: Option<String>,
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `gracePeriodSeconds`.
    pub grace_period: Option<i64>,
    /// `propagationPolicy`.
    pub propagation: Option<String>,
    /// `includeObject` for tables: `None`, `Metadata` (default), `Object`.
    pub include_object: Option<String>,
}

fn truthy(v: &str) -> bool {
    matches!(v, "true" | "1" | "True")
}

impl Params {
    /// Parses a raw query string (tolerating empty pairs such as `?&limit=500`).
    pub fn parse(query: Option<&str>) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .filter(|(k, _)| !k.is_empty())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut p = Params::default();
        for (k, v) in &pairs {
            let number =
                |what: &str| -> Result<u64, ApiError> { v.parse().map_err(|_| ApiError::bad_request(format!("invalid {what} {v:?}: must be a whole number"))) };
            match k.as_str() {
                "watch" => p.watch = truthy(v),
                "resourceVersion" if !v.is_empty() => p.resource_version = Some(v.clone()),
                "timeoutSeconds" => p.timeout_seconds = Some(number("timeoutSeconds")?),
                "allowWatchBookmarks" => p.bookmarks = truthy(v),
                "sendInitialEvents" => p.send_initial_events = truthy(v),
                "limit" => p.limit = Some(number("limit")? as usize).filter(|l| *l > 0),
                "continue" if !v.is_empty() => p.continue_token = Some(v.clone()),
                "labelSelector" => p.labels = LabelSelector::parse(v)?,
                "fieldSelector" => p.fields = FieldSelector::parse(v)?,
                "dryRun" => p.dry_run = v == "All",
                "gracePeriodSeconds" => {
                    p.grace_period = Some(v.parse().map_err(|_| ApiError::bad_request(format!("invalid gracePeriodSeconds {v:?}: must be a whole number")))?)
                }
                "propagationPolicy" => p.propagation = Some(v.clone()),
                "includeObject" => p.include_object = Some(v.clone()),
                _ => {}
            }
        }
        p.pairs = pairs;
        Ok(p)
    }

    /// Every value given for `key`.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs.iter().filter(|(k, _)| k == key).map(|(_, v)| v.as_str()).collect()
    }

    /// The first value given for `key`.
    pub fn first(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// One requirement of a label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// `key=value`, `key==value`, `key in (a,b)`.
    In(String, Vec<String>),
    /// `key!=value`, `key notin (a,b)`.
    NotIn(String, Vec<String>),
    /// `key`.
    Exists(String),
    /// `!key`.
    DoesNotExist(String),
}

/// A parsed `labelSelector`; empty matches everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelSelector(pub Vec<Requirement>);

/// Splits on commas that are not inside parentheses.
fn split_top_level(s: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, ch) in s.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts.into_iter().map(str::trim).filter(|p| !p.is_empty()).collect()
}

fn valid_key(k: &str) -> bool {
    !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
}

fn set_values(s: &str) -> Option<Vec<String>> {
    let inner = s.trim().strip_prefix('(')?.strip_suffix(')')?;
    Some(inner.split(',').map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).collect())
}

impl LabelSelector {
    /// Parses `app=web,tier!=db,env in (a,b),!legacy`.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let bad = |part: &str| ApiError::bad_request(format!("unable to parse requirement: found '{part}', expected: valid label selector"));
        let mut reqs = Vec::new();
        for part in split_top_level(s) {
            let req = if let Some(k) = part.strip_prefix('!') {
                Requirement::DoesNotExist(k.trim().to_owned())
            } else if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotIn(k.trim().to_owned(), vec![v.trim().to_owned()])
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                Requirement::In(k.trim().to_owned(), vec![v.trim().to_owned()])
            } else if let Some((k, v)) = part.split_once(" notin ") {
                Requirement::NotIn(k.trim().to_owned(), set_values(v).ok_or_else(|| bad(part))?)
            } else if let Some((k, v)) = part.split_once(" in ") {
                Requirement::In(k.trim().to_owned(), set_values(v).ok_or_else(|| bad(part))?)
            } else {
                Requirement::Exists(part.to_owned())
            };
            let key = match &req {
                Requirement::In(k, _) | Requirement::NotIn(k, _) | Requirement::Exists(k) | Requirement::DoesNotExist(k) => k,
            };
            if !valid_key(key) {
                return Err(bad(part));
            }
            reqs.push(req);
        }
        Ok(LabelSelector(reqs))
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches(&self, labels: Option<&BTreeMap<String, String>>) -> bool {
        let get = |k: &str| labels.and_then(|l| l.get(k));
        self.0.iter().all(|r| match r {
            Requirement::In(k, vs) => get(k).is_some_and(|v| vs.contains(v)),
            Requirement::NotIn(k, vs) => get(k).is_none_or(|v| !vs.contains(v)),
            Requirement::Exists(k) => get(k).is_some(),
            Requirement::DoesNotExist(k) => get(k).is_none(),
        })
    }

    /// Whether the selector has no requirements.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A parsed `fieldSelector`: `(field, value, equal)` triples.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSelector(pub Vec<(String, String, bool)>);

impl FieldSelector {
    /// Parses `metadata.name=web-0,status.phase!=Running`.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let mut terms = Vec::new();
        for part in split_top_level(s) {
            let (k, v, eq) = if let Some((k, v)) = part.split_once("!=") {
                (k, v, false)
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                (k, v, true)
            } else {
                return Err(ApiError::bad_request(format!("invalid selector: '{s}'; can't understand '{part}'")));
            };
            terms.push((k.trim().to_owned(), v.trim().to_owned(), eq));
        }
        Ok(FieldSelector(terms))
    }

    /// Whether the selector has no terms.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn label_selectors_match_like_kubernetes() {
        let l = labels(&[("app", "web"), ("tier", "front")]);
        let ok = |s: &str| LabelSelector::parse(s).expect(s).matches(Some(&l));
        assert!(ok("app=web"));
        assert!(ok("app==web,tier"));
        assert!(ok("app in (db, web),!legacy"));
        assert!(ok("tier notin (back)"));
        assert!(!ok("app!=web"));
        assert!(!ok("app in (db)"));
        assert!(!ok("missing"));
        assert!(LabelSelector::parse("a=b,,").expect("trailing commas").matches(Some(&labels(&[("a", "b")]))));
        assert!(LabelSelector::parse("app in (web").is_err());
    }

    #[test]
    fn query_tolerates_empty_pairs_and_rejects_bad_numbers() {
        let p = Params::parse(Some("&limit=500&watch=1&command=cat&command=visits")).expect("parse");
        assert_eq!(p.limit, Some(500));
        assert!(p.watch);
        assert_eq!(p.all("command"), ["cat", "visits"]);
        let e = Params::parse(Some("timeoutSeconds=soon")).expect_err("not a number");
        assert_eq!(e.code, 400);
    }

    #[test]
    fn field_selectors_parse_equal_and_not_equal() {
        let f = FieldSelector::parse("metadata.name=web-0,status.phase!=Running").expect("parse");
        assert_eq!(f.0, [("metadata.name".into(), "web-0".into(), true), ("status.phase".into(), "Running".into(), false)]);
        assert!(FieldSelector::parse("nonsense").is_err());
    }
}
