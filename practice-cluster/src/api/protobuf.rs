//! Kubernetes protobuf request bodies, read into the JSON the API already takes.
//!
//! kubectl's typed clients (`kubectl create service ...`, `kubectl create namespace`)
//! send their object as `application/vnd.kubernetes.protobuf`: the four bytes `k8s\0`,
//! then a `runtime.Unknown` envelope (the object's `apiVersion` and `kind`, and its own
//! message as `raw` bytes). [`decode`] reads the wire format by hand and turns each
//! message into JSON through a static table per message type: field number, JSON name,
//! type, and how Go's JSON encoding writes the field. The result is what kubectl sends
//! when it speaks JSON, so validation, defaulting, create and update see no difference.
//!
//! Only what the cluster serves and kubectl writes this way has a table: v1 `Service`
//! and v1 `Namespace`, with `ObjectMeta`. Anything else — another kind, a field number
//! no table knows, a wrong wire type, a truncated or malformed message — is refused with
//! a 4xx that names it; no field is ever dropped. Responses stay JSON.
//!
//! The reader never panics and is bounded: every length is checked against what is left,
//! varints are at most 10 bytes, messages nest at most [`MAX_DEPTH`] deep and the JSON
//! built may cost at most a fixed multiple of the body's size.

use serde_json::{Map, Value};

use super::error::ApiError;

/// The media type of a Kubernetes protobuf body.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// What every Kubernetes protobuf body starts with.
const MAGIC: &[u8] = b"k8s\0";

/// How deep messages may nest (the tables themselves go 5 deep).
const MAX_DEPTH: usize = 32;

/// The JSON built may cost this many bytes per byte of body (plus [`BUDGET_BASE`]);
/// the densest real field, a `false` named `publishNotReadyAddresses` in two bytes,
/// costs about 16.
const BUDGET_PER_BYTE: usize = 32;
const BUDGET_BASE: usize = 1024;

/// Wire types.
const VARINT: u8 = 0;
const LEN: u8 = 2;

/// The largest field number protobuf allows.
const MAX_FIELD: u64 = (1 << 29) - 1;

/// A field's type, as far as its JSON is concerned.
#[derive(Clone, Copy)]
enum Ty {
    /// `string`: a JSON string (UTF-8 checked).
    Str,
    /// `bool` (varint): `true` for anything but 0, as Go reads it.
    Bool,
    /// `int32` (varint, negative numbers sign-extended to 64 bits).
    Int32,
    /// `int64` (varint): a JSON number.
    Int64,
    /// A nested message: a JSON object.
    Msg(&'static Msg),
    /// `map<string, string>`: repeated entries (key = 1, value = 2) into one JSON object.
    StrMap,
    /// `meta.v1.Time` {seconds = 1, nanos = 2}: RFC 3339 in whole seconds, as the API's
    /// JSON writes it (and as kube-apiserver reads it: it keeps no nanoseconds); the
    /// empty message is Go's zero time, `null`.
    Time,
    /// `intstr.IntOrString` {type = 1, intVal = 2, strVal = 3}: a number or a string.
    IntOrString,
    /// A field the practice cluster does not take in protobuf (it names it in the error).
    Refused,
}

impl Ty {
    fn wire(self) -> u8 {
        match self {
            Ty::Bool | Ty::Int32 | Ty::Int64 => VARINT,
            Ty::Str | Ty::Msg(_) | Ty::StrMap | Ty::Time | Ty::IntOrString | Ty::Refused => LEN,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Ty::Str => "a string",
            Ty::Bool => "a bool",
            Ty::Int32 => "an int32",
            Ty::Int64 => "an int64",
            Ty::Msg(_) | Ty::Time | Ty::IntOrString | Ty::Refused => "a message",
            Ty::StrMap => "a map entry",
        }
    }
}

/// How Go's JSON encoding writes a field that is on the wire. Kubernetes' generated
/// protobuf code writes every plain (non-pointer) field, zero or not; its JSON leaves a
/// zero out where the field is tagged `omitempty`. Reading the zero back as JSON would
/// turn "unset" into an explicit `""` or `0` that defaulting and validation take at its
/// word (a `sessionAffinity: ""`, a `namespace: ""` that does not match the URL's).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Zero {
    /// A plain `omitempty` field: a zero (`""`, `0`, `false`, `null`) is left out.
    Omit,
    /// A pointer, a struct or a field without `omitempty`: always written.
    Keep,
}

/// One field of a message table.
#[derive(Clone, Copy)]
struct Field {
    num: u32,
    name: &'static str,
    ty: Ty,
    repeated: bool,
    zero: Zero,
}

/// A message table.
struct Msg {
    name: &'static str,
    fields: &'static [Field],
}

/// A plain `omitempty` field.
const fn opt(num: u32, name: &'static str, ty: Ty) -> Field {
    Field { num, name, ty, repeated: false, zero: Zero::Omit }
}

/// A field written whatever its value (a pointer, a struct, no `omitempty`).
const fn keep(num: u32, name: &'static str, ty: Ty) -> Field {
    Field { num, name, ty, repeated: false, zero: Zero::Keep }
}

/// A repeated field: a JSON array.
const fn rep(num: u32, name: &'static str, ty: Ty) -> Field {
    Field { num, name, ty, repeated: true, zero: Zero::Keep }
}

// k8s.io/apimachinery/pkg/runtime: the envelope's type.
static TYPE_META: Msg = Msg { name: "TypeMeta", fields: &[keep(1, "apiVersion", Ty::Str), keep(2, "kind", Ty::Str)] };

// k8s.io/apimachinery/pkg/apis/meta/v1.
static OBJECT_META: Msg = Msg {
    name: "ObjectMeta",
    fields: &[
        opt(1, "name", Ty::Str),
        opt(2, "generateName", Ty::Str),
        opt(3, "namespace", Ty::Str),
        opt(4, "selfLink", Ty::Str),
        opt(5, "uid", Ty::Str),
        opt(6, "resourceVersion", Ty::Str),
        opt(7, "generation", Ty::Int64),
        opt(8, "creationTimestamp", Ty::Time),
        keep(9, "deletionTimestamp", Ty::Time),
        keep(10, "deletionGracePeriodSeconds", Ty::Int64),
        opt(11, "labels", Ty::StrMap),
        opt(12, "annotations", Ty::StrMap),
        rep(13, "ownerReferences", Ty::Msg(&OWNER_REFERENCE)),
        rep(14, "finalizers", Ty::Str),
        rep(17, "managedFields", Ty::Refused),
    ],
};

static OWNER_REFERENCE: Msg = Msg {
    name: "OwnerReference",
    fields: &[
        keep(5, "apiVersion", Ty::Str),
        keep(1, "kind", Ty::Str),
        keep(3, "name", Ty::Str),
        keep(4, "uid", Ty::Str),
        keep(6, "controller", Ty::Bool),
        keep(7, "blockOwnerDeletion", Ty::Bool),
    ],
};

static CONDITION: Msg = Msg {
    name: "Condition",
    fields: &[
        keep(1, "type", Ty::Str),
        keep(2, "status", Ty::Str),
        opt(3, "observedGeneration", Ty::Int64),
        keep(4, "lastTransitionTime", Ty::Time),
        keep(5, "reason", Ty::Str),
        keep(6, "message", Ty::Str),
    ],
};

static TIME: Msg = Msg { name: "Time", fields: &[keep(1, "seconds", Ty::Int64), keep(2, "nanos", Ty::Int32)] };

static MAP_ENTRY: Msg = Msg { name: "map entry", fields: &[keep(1, "key", Ty::Str), keep(2, "value", Ty::Str)] };

// k8s.io/apimachinery/pkg/util/intstr.
static INT_OR_STRING: Msg = Msg { name: "IntOrString", fields: &[keep(1, "type", Ty::Int64), keep(2, "intVal", Ty::Int32), keep(3, "strVal", Ty::Str)] };

// k8s.io/api/core/v1: Service.
static SERVICE: Msg = Msg {
    name: "Service",
    fields: &[keep(1, "metadata", Ty::Msg(&OBJECT_META)), keep(2, "spec", Ty::Msg(&SERVICE_SPEC)), keep(3, "status", Ty::Msg(&SERVICE_STATUS))],
};

static SERVICE_SPEC: Msg = Msg {
    name: "ServiceSpec",
    fields: &[
        rep(1, "ports", Ty::Msg(&SERVICE_PORT)),
        opt(2, "selector", Ty::StrMap),
        opt(3, "clusterIP", Ty::Str),
        rep(18, "clusterIPs", Ty::Str),
        opt(4, "type", Ty::Str),
        rep(5, "externalIPs", Ty::Str),
        opt(7, "sessionAffinity", Ty::Str),
        opt(8, "loadBalancerIP", Ty::Str),
        rep(9, "loadBalancerSourceRanges", Ty::Str),
        opt(10, "externalName", Ty::Str),
        opt(11, "externalTrafficPolicy", Ty::Str),
        opt(12, "healthCheckNodePort", Ty::Int32),
        opt(13, "publishNotReadyAddresses", Ty::Bool),
        keep(14, "sessionAffinityConfig", Ty::Msg(&SESSION_AFFINITY_CONFIG)),
        rep(19, "ipFamilies", Ty::Str),
        keep(17, "ipFamilyPolicy", Ty::Str),
        keep(20, "allocateLoadBalancerNodePorts", Ty::Bool),
        keep(21, "loadBalancerClass", Ty::Str),
        keep(22, "internalTrafficPolicy", Ty::Str),
        keep(23, "trafficDistribution", Ty::Str),
    ],
};

static SERVICE_PORT: Msg = Msg {
    name: "ServicePort",
    fields: &[
        opt(1, "name", Ty::Str),
        opt(2, "protocol", Ty::Str),
        keep(6, "appProtocol", Ty::Str),
        keep(3, "port", Ty::Int32),
        keep(4, "targetPort", Ty::IntOrString),
        opt(5, "nodePort", Ty::Int32),
    ],
};

static SESSION_AFFINITY_CONFIG: Msg = Msg { name: "SessionAffinityConfig", fields: &[keep(1, "clientIP", Ty::Msg(&CLIENT_IP_CONFIG))] };

static CLIENT_IP_CONFIG: Msg = Msg { name: "ClientIPConfig", fields: &[keep(1, "timeoutSeconds", Ty::Int32)] };

static SERVICE_STATUS: Msg =
    Msg { name: "ServiceStatus", fields: &[keep(1, "loadBalancer", Ty::Msg(&LOAD_BALANCER_STATUS)), rep(2, "conditions", Ty::Msg(&CONDITION))] };

static LOAD_BALANCER_STATUS: Msg = Msg { name: "LoadBalancerStatus", fields: &[rep(1, "ingress", Ty::Msg(&LOAD_BALANCER_INGRESS))] };

static LOAD_BALANCER_INGRESS: Msg = Msg {
    name: "LoadBalancerIngress",
    fields: &[opt(1, "ip", Ty::Str), opt(2, "hostname", Ty::Str), keep(3, "ipMode", Ty::Str), rep(4, "ports", Ty::Msg(&PORT_STATUS))],
};

static PORT_STATUS: Msg = Msg { name: "PortStatus", fields: &[keep(1, "port", Ty::Int32), keep(2, "protocol", Ty::Str), keep(3, "error", Ty::Str)] };

// k8s.io/api/core/v1: Namespace.
static NAMESPACE: Msg = Msg {
    name: "Namespace",
    fields: &[keep(1, "metadata", Ty::Msg(&OBJECT_META)), keep(2, "spec", Ty::Msg(&NAMESPACE_SPEC)), keep(3, "status", Ty::Msg(&NAMESPACE_STATUS))],
};

static NAMESPACE_SPEC: Msg = Msg { name: "NamespaceSpec", fields: &[rep(1, "finalizers", Ty::Str)] };

static NAMESPACE_STATUS: Msg = Msg { name: "NamespaceStatus", fields: &[opt(1, "phase", Ty::Str), rep(2, "conditions", Ty::Msg(&NAMESPACE_CONDITION))] };

static NAMESPACE_CONDITION: Msg = Msg {
    name: "NamespaceCondition",
    fields: &[
        keep(1, "type", Ty::Str),
        keep(2, "status", Ty::Str),
        opt(4, "lastTransitionTime", Ty::Time),
        opt(5, "reason", Ty::Str),
        opt(6, "message", Ty::Str),
    ],
};

/// The kinds read from protobuf: `(apiVersion, kind)` and the object's message.
static KINDS: [(&str, &str, &Msg); 2] = [("v1", "Service", &SERVICE), ("v1", "Namespace", &NAMESPACE)];

/// Why a body could not be read, and where (innermost field last, as it unwinds).
struct Fail {
    unsupported: bool,
    what: String,
    path: Vec<String>,
}

impl Fail {
    fn bad(what: impl Into<String>) -> Self {
        Fail { unsupported: false, what: what.into(), path: Vec::new() }
    }

    /// Well-formed, but not something the practice cluster reads from protobuf (415).
    fn unsupported(what: impl Into<String>) -> Self {
        Fail { unsupported: true, what: what.into(), path: Vec::new() }
    }

    /// Adds the field the failure happened in.
    fn within(mut self, segment: String) -> Self {
        self.path.push(segment);
        self
    }

    fn into_api_error(self, kind: &str) -> ApiError {
        let mut path = self.path;
        path.reverse();
        let place = match (kind.is_empty(), path.is_empty()) {
            (true, true) => String::new(),
            (true, false) => format!("{}: ", path.join(".")),
            (false, true) => format!("{kind}: "),
            (false, false) => format!("{kind} {}: ", path.join(".")),
        };
        let message = format!("the protobuf request body cannot be read: {place}{}; send it as JSON (application/json) instead", self.what);
        if self.unsupported { ApiError { code: 415, reason: "UnsupportedMediaType", message, details: None } } else { ApiError::bad_request(message) }
    }
}

type Step<T> = std::result::Result<T, Fail>;

/// A cursor over one message's bytes.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    fn done(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn varint(&mut self) -> Step<u64> {
        let mut value = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(Fail::bad("the message ends inside a varint"));
            };
            self.pos += 1;
            if i == 9 && b & 0x80 != 0 {
                return Err(Fail::bad("a varint is longer than 10 bytes"));
            }
            if i == 9 && b > 1 {
                return Err(Fail::bad("a varint does not fit in 64 bits"));
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Fail::bad("a varint is longer than 10 bytes"))
    }

    /// A field's number and wire type.
    fn tag(&mut self) -> Step<(u32, u8)> {
        let tag = self.varint()?;
        let num = tag >> 3;
        if num == 0 || num > MAX_FIELD {
            return Err(Fail::bad(format!("field number {num} is not a valid protobuf field number")));
        }
        let num = u32::try_from(num).map_err(|_| Fail::bad("field number out of range"))?;
        Ok((num, (tag & 7) as u8))
    }

    /// A length-delimited field's bytes.
    fn delimited(&mut self) -> Step<&'a [u8]> {
        let len = self.varint()?;
        let left = self.buf.len() - self.pos;
        let len =
            usize::try_from(len).ok().filter(|&l| l <= left).ok_or_else(|| Fail::bad(format!("a length of {len} bytes runs past the {left} bytes left")))?;
        let bytes = &self.buf[self.pos..self.pos + len];
        self.pos += len;
        Ok(bytes)
    }
}

/// A message being read, with the JSON cost still allowed.
struct Decoder {
    budget: usize,
}

impl Decoder {
    fn for_body(body: &[u8]) -> Self {
        Decoder { budget: body.len().saturating_mul(BUDGET_PER_BYTE).saturating_add(BUDGET_BASE) }
    }

    /// Counts `n` bytes of JSON against the budget.
    fn spend(&mut self, n: usize) -> Step<()> {
        self.budget = self.budget.checked_sub(n).ok_or_else(|| Fail::bad("it decodes to far more JSON than a body of its size can hold"))?;
        Ok(())
    }

    /// Reads `bytes` as the message `msg`, `depth` messages down.
    fn message(&mut self, msg: &'static Msg, bytes: &[u8], depth: usize) -> Step<Map<String, Value>> {
        if depth > MAX_DEPTH {
            return Err(Fail::bad(format!("messages nest more than {MAX_DEPTH} deep")));
        }
        self.spend(2)?;
        let mut out = Map::new();
        let mut seen = vec![false; msg.fields.len()];
        let mut r = Reader::new(bytes);
        while !r.done() {
            let (num, wire) = r.tag()?;
            let Some((i, field)) = msg.fields.iter().enumerate().find(|(_, f)| f.num == num) else {
                return Err(Fail::bad(format!("{} has no field number {num} (wire type {wire}) that the practice cluster knows", msg.name)));
            };
            let segment = if field.repeated {
                let index = out.get(field.name).and_then(Value::as_array).map_or(0, Vec::len);
                format!("{}[{index}]", field.name)
            } else {
                field.name.to_owned()
            };
            if seen[i] && !field.repeated && !matches!(field.ty, Ty::StrMap) {
                return Err(Fail::bad("the field appears twice").within(segment));
            }
            seen[i] = true;
            self.field(msg, field, wire, &mut r, &mut out, depth).map_err(|f| f.within(segment))?;
        }
        Ok(out)
    }

    /// Reads one occurrence of `field` into `out`.
    fn field(&mut self, msg: &Msg, field: &Field, wire: u8, r: &mut Reader<'_>, out: &mut Map<String, Value>, depth: usize) -> Step<()> {
        if let Ty::Refused = field.ty {
            return Err(Fail::unsupported(format!("{}.{} is not read from protobuf", msg.name, field.name)));
        }
        if wire != field.ty.wire() {
            return Err(Fail::bad(format!("wire type {wire} where {} (wire type {}) belongs", field.ty.describe(), field.ty.wire())));
        }
        self.spend(field.name.len() + 4)?;
        let value = match field.ty {
            Ty::Str => Value::String(self.string(r.delimited()?)?),
            Ty::Bool => {
                self.spend(5)?;
                Value::Bool(r.varint()? != 0)
            }
            Ty::Int32 => {
                self.spend(11)?;
                Value::from(int32(r.varint()?)?)
            }
            Ty::Int64 => {
                self.spend(20)?;
                // Two's complement, as protobuf writes negative int64s.
                Value::from(r.varint()? as i64)
            }
            Ty::Msg(m) => Value::Object(self.message(m, r.delimited()?, depth + 1)?),
            Ty::Time => self.time(r.delimited()?, depth + 1)?,
            Ty::IntOrString => self.int_or_string(r.delimited()?, depth + 1)?,
            Ty::StrMap => {
                let mut entry = self.message(&MAP_ENTRY, r.delimited()?, depth + 1)?;
                let key = match entry.remove("key") {
                    Some(Value::String(k)) => k,
                    _ => String::new(),
                };
                let value = entry.remove("value").unwrap_or_else(|| Value::String(String::new()));
                let map = out.entry(field.name).or_insert_with(|| Value::Object(Map::new()));
                if let Value::Object(map) = map {
                    if map.contains_key(&key) {
                        return Err(Fail::bad(format!("the key {key:?} appears twice")));
                    }
                    map.insert(key, value);
                }
                return Ok(());
            }
            Ty::Refused => return Err(Fail::bad("the field is not read from protobuf")),
        };
        if field.repeated {
            if let Value::Array(items) = out.entry(field.name).or_insert_with(|| Value::Array(Vec::new())) {
                items.push(value);
            }
        } else if !(field.zero == Zero::Omit && is_zero(&value)) {
            out.insert(field.name.to_owned(), value);
        }
        Ok(())
    }

    fn string(&mut self, bytes: &[u8]) -> Step<String> {
        self.spend(bytes.len() + 2)?;
        let s = std::str::from_utf8(bytes).map_err(|_| Fail::bad("a string is not valid UTF-8"))?;
        Ok(s.to_owned())
    }

    /// `meta.v1.Time` as the API's JSON writes it.
    fn time(&mut self, bytes: &[u8], depth: usize) -> Step<Value> {
        if bytes.is_empty() {
            return Ok(Value::Null);
        }
        let t = self.message(&TIME, bytes, depth)?;
        let seconds = t.get("seconds").and_then(Value::as_i64).unwrap_or(0);
        // Years 0 to 9999, which RFC 3339 (and Go's JSON for a Time) can write.
        const FIRST: i64 = -62_167_219_200;
        const LAST: i64 = 253_402_300_799;
        if !(FIRST..=LAST).contains(&seconds) {
            return Err(Fail::bad(format!("the time {seconds} (seconds since 1970) is outside the years 0 to 9999")));
        }
        let ts = jiff::Timestamp::from_second(seconds).map_err(|e| Fail::bad(format!("the time {seconds} is not valid: {e}")))?;
        Ok(Value::String(ts.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()))
    }

    /// `intstr.IntOrString`: type 0 is the number `intVal`, type 1 the string `strVal`.
    fn int_or_string(&mut self, bytes: &[u8], depth: usize) -> Step<Value> {
        let mut v = self.message(&INT_OR_STRING, bytes, depth)?;
        match v.get("type").and_then(Value::as_i64).unwrap_or(0) {
            0 => Ok(v.remove("intVal").unwrap_or_else(|| Value::from(0))),
            1 => Ok(v.remove("strVal").unwrap_or_else(|| Value::String(String::new()))),
            other => Err(Fail::bad(format!("IntOrString type {other} is neither 0 (int) nor 1 (string)"))),
        }
    }
}

/// An `int32` off the wire: negative numbers come sign-extended to 64 bits.
fn int32(v: u64) -> Step<i32> {
    i32::try_from(v as i64).map_err(|_| Fail::bad(format!("{v} does not fit in an int32")))
}

/// What Go's `omitempty` leaves out.
fn is_zero(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_i64() == Some(0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// Decodes a Kubernetes protobuf body (`k8s\0` and a `runtime.Unknown`) into the JSON
/// form of its object, with `apiVersion` and `kind` from the envelope. A body that is
/// not valid protobuf, or uses a field the tables do not know, is a 400; a kind without
/// a table (or an encoded `raw`) is a 415.
pub fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let Some(envelope) = body.strip_prefix(MAGIC) else {
        return Err(Fail::bad(r#"it does not start with the magic bytes "k8s\0""#).into_api_error(""));
    };
    let mut d = Decoder::for_body(body);
    let (api_version, kind, raw) = read_envelope(&mut d, envelope).map_err(|f| f.into_api_error(""))?;
    let Some(&(_, _, msg)) = KINDS.iter().find(|(v, k, _)| *v == api_version && *k == kind) else {
        let what = format!("{api_version} {kind} has no protobuf schema here (only v1 Service and v1 Namespace do)");
        return Err(Fail::unsupported(what).into_api_error(""));
    };
    let mut obj = d.message(msg, raw, 1).map_err(|f| f.into_api_error(&kind))?;
    obj.insert("apiVersion".to_owned(), Value::String(api_version));
    obj.insert("kind".to_owned(), Value::String(kind));
    Ok(Value::Object(obj))
}

/// Reads `runtime.Unknown` {typeMeta = 1, raw = 2, contentEncoding = 3, contentType = 4}:
/// the object's apiVersion, kind and message bytes.
fn read_envelope<'a>(d: &mut Decoder, bytes: &'a [u8]) -> Step<(String, String, &'a [u8])> {
    let mut r = Reader::new(bytes);
    let mut type_meta = None;
    let mut raw = None;
    let mut seen = [false; 5];
    while !r.done() {
        let (num, wire) = r.tag()?;
        let name = match num {
            1 => "typeMeta",
            2 => "raw",
            3 => "contentEncoding",
            4 => "contentType",
            _ => return Err(Fail::bad(format!("the envelope (runtime.Unknown) has no field number {num} (wire type {wire})"))),
        };
        if wire != LEN {
            return Err(Fail::bad(format!("wire type {wire} where a length-delimited field (wire type 2) belongs")).within(name.to_owned()));
        }
        let slot = &mut seen[num as usize];
        if *slot {
            return Err(Fail::bad("the field appears twice").within(name.to_owned()));
        }
        *slot = true;
        let value = r.delimited()?;
        match num {
            1 => type_meta = Some(d.message(&TYPE_META, value, 1).map_err(|f| f.within(name.to_owned()))?),
            2 => raw = Some(value),
            3 if !value.is_empty() => {
                let encoding = String::from_utf8_lossy(value);
                return Err(Fail::unsupported(format!("the object is encoded as {encoding:?}, which the practice cluster does not read")));
            }
            4 if !value.is_empty() && value != MEDIA_TYPE.as_bytes() => {
                let content_type = String::from_utf8_lossy(value);
                return Err(Fail::unsupported(format!("the object inside is {content_type:?}, not protobuf")));
            }
            _ => {}
        }
    }
    let type_meta = type_meta.unwrap_or_default();
    let text = |key: &str| type_meta.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    let (api_version, kind) = (text("apiVersion"), text("kind"));
    if api_version.is_empty() || kind.is_empty() {
        return Err(Fail::bad("the envelope does not name the object's apiVersion and kind"));
    }
    let raw = raw.ok_or_else(|| Fail::bad("the envelope carries no object (raw)"))?;
    Ok((api_version, kind, raw))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A protobuf writer for the tests, writing fields as Kubernetes' generated code
    /// does (zero-valued plain fields included).
    #[derive(Default, Clone)]
    struct Enc(Vec<u8>);

    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }

    impl Enc {
        fn tag(mut self, num: u32, wire: u8) -> Self {
            varint(&mut self.0, (u64::from(num) << 3) | u64::from(wire));
            self
        }
        fn bytes(self, num: u32, b: &[u8]) -> Self {
            let mut e = self.tag(num, LEN);
            varint(&mut e.0, b.len() as u64);
            e.0.extend_from_slice(b);
            e
        }
        fn str(self, num: u32, s: &str) -> Self {
            self.bytes(num, s.as_bytes())
        }
        fn int(self, num: u32, v: i64) -> Self {
            let mut e = self.tag(num, VARINT);
            varint(&mut e.0, v as u64);
            e
        }
        fn raw(mut self, b: &[u8]) -> Self {
            self.0.extend_from_slice(b);
            self
        }
        fn msg(self, num: u32, m: Enc) -> Self {
            self.bytes(num, &m.0)
        }
        fn entry(self, num: u32, k: &str, v: &str) -> Self {
            self.msg(num, Enc::default().str(1, k).str(2, v))
        }
    }

    /// `ObjectMeta` as kubectl writes it: every plain field, the zero time.
    fn meta(name: &str, labels: &[(&str, &str)]) -> Enc {
        let mut m = Enc::default().str(1, name).str(2, "").str(3, "").str(4, "").str(5, "").str(6, "").int(7, 0).msg(8, Enc::default());
        for (k, v) in labels {
            m = m.entry(11, k, v);
        }
        m
    }

    fn int_port(v: i64) -> Enc {
        Enc::default().int(1, 0).int(2, v).str(3, "")
    }

    fn str_port(s: &str) -> Enc {
        Enc::default().int(1, 1).int(2, 0).str(3, s)
    }

    fn port(name: &str, port: i64, target: Enc, node_port: i64) -> Enc {
        Enc::default().str(1, name).str(2, "TCP").int(3, port).msg(4, target).int(5, node_port)
    }

    /// `ServiceSpec` with kubectl's plain fields zero, but for `ports`, `selector`,
    /// `type`, `clusterIP` and `externalName`.
    fn spec(ports: Vec<Enc>, selector: &[(&str, &str)], ty: &str, cluster_ip: &str, external_name: &str) -> Enc {
        let mut s = Enc::default();
        for p in ports {
            s = s.msg(1, p);
        }
        for (k, v) in selector {
            s = s.entry(2, k, v);
        }
        s.str(3, cluster_ip).str(4, ty).str(7, "").str(8, "").str(10, external_name).str(11, "").int(12, 0).int(13, 0)
    }

    fn envelope(api_version: &str, kind: &str, raw: &Enc) -> Vec<u8> {
        let e = Enc::default().msg(1, Enc::default().str(1, api_version).str(2, kind)).bytes(2, &raw.0).str(3, "").str(4, "");
        [MAGIC, &e.0].concat()
    }

    fn service(meta: Enc, spec: Enc) -> Vec<u8> {
        let status = Enc::default().msg(1, Enc::default());
        envelope("v1", "Service", &Enc::default().msg(1, meta).msg(2, spec).msg(3, status))
    }

    fn headless() -> Vec<u8> {
        let ports = vec![port("http", 80, int_port(8080), 0), port("metrics", 9090, str_port("metrics"), 0)];
        service(meta("web-h", &[("app", "web-h")]), spec(ports, &[("app", "web-h")], "ClusterIP", "None", ""))
    }

    fn err(body: &[u8]) -> ApiError {
        match decode(body) {
            Ok(v) => panic!("decoded {v} from {body:02x?}"),
            Err(e) => {
                assert!(e.code == 400 || e.code == 415, "{e:?}");
                e
            }
        }
    }

    #[test]
    fn a_headless_service_reads_as_kubectl_would_send_it_as_json() {
        let v = decode(&headless()).expect("decode");
        assert_eq!(
            v,
            json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web-h", "labels": {"app": "web-h"}},
                "spec": {
                    "ports": [
                        {"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080},
                        {"name": "metrics", "protocol": "TCP", "port": 9090, "targetPort": "metrics"},
                    ],
                    "selector": {"app": "web-h"},
                    "clusterIP": "None",
                    "type": "ClusterIP",
                },
                "status": {"loadBalancer": {}},
            })
        );
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
    }

    /// Bodies kubectl 1.32 sent for `create service clusterip web-h --clusterip=None
    /// --tcp=80:8080` and `create namespace class-a`.
    const KUBECTL_HEADLESS: &str = "6b3873000a0d0a02763112075365727669636512730a230a057765622d6812001a0022002a003200380042005a0c0a0361707012057765622d6812480a1b0a0738302d38303830120354435018502207080010903f1a002800120c0a0361707012057765622d681a044e6f6e652209436c757374657249503a00420052005a00600068001a020a001a002200";
    const KUBECTL_NAMESPACE: &str = "6b3873000a0f0a02763112094e616d657370616365121f0a170a07636c6173732d6112001a0022002a0032003800420012001a020a001a002200";

    #[test]
    fn bodies_from_the_real_kubectl_read_as_its_json() {
        assert_eq!(
            decode(&hex(KUBECTL_HEADLESS)).expect("decode"),
            json!({
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "web-h", "labels": {"app": "web-h"}},
                "spec": {"ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080}], "selector": {"app": "web-h"}, "clusterIP": "None", "type": "ClusterIP"},
                "status": {"loadBalancer": {}},
            })
        );
        assert_eq!(
            decode(&hex(KUBECTL_NAMESPACE)).expect("decode"),
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "class-a"}, "spec": {}, "status": {}})
        );
    }

    #[test]
    fn nodeport_and_externalname_services_read() {
        let np = service(meta("np", &[("app", "np")]), spec(vec![port("80-8080", 80, int_port(8080), 30080)], &[("app", "np")], "NodePort", "", ""));
        let v = decode(&np).expect("decode nodeport");
        assert_eq!(
            v["spec"],
            json!({"ports": [{"name": "80-8080", "protocol": "TCP", "port": 80, "targetPort": 8080, "nodePort": 30080}], "selector": {"app": "np"}, "type": "NodePort"})
        );
        let ext = service(meta("ext", &[("app", "ext")]), spec(vec![], &[("app", "ext")], "ExternalName", "", "example.com"));
        let v = decode(&ext).expect("decode externalname");
        assert_eq!(v["spec"], json!({"selector": {"app": "ext"}, "type": "ExternalName", "externalName": "example.com"}));
        // A port 0 and a zero targetPort are on the wire and in kubectl's JSON alike.
        let zero = service(meta("z", &[]), spec(vec![port("", 0, int_port(0), 0)], &[], "", "", ""));
        assert_eq!(decode(&zero).expect("decode")["spec"], json!({"ports": [{"protocol": "TCP", "port": 0, "targetPort": 0}]}));
    }

    #[test]
    fn pointer_fields_keep_their_zero_values() {
        let config = Enc::default().msg(1, Enc::default().int(1, 0));
        let s = spec(vec![], &[], "ClusterIP", "", "").msg(14, config).str(17, "SingleStack").int(20, 0).str(19, "IPv4").str(19, "IPv6");
        let v = decode(&service(meta("p", &[]), s)).expect("decode");
        assert_eq!(
            v["spec"],
            json!({"type": "ClusterIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 0}}, "ipFamilyPolicy": "SingleStack", "allocateLoadBalancerNodePorts": false, "ipFamilies": ["IPv4", "IPv6"]})
        );
    }

    #[test]
    fn a_namespace_with_labels_owner_and_times_reads() {
        let owner = Enc::default().str(5, "v1").str(1, "Namespace").str(3, "parent").str(4, "u-1").int(6, 1);
        let m = meta("class-a", &[("team", "a"), ("tier", "")])
            .entry(12, "note", "hi")
            .msg(13, owner)
            .str(14, "example.com/keep")
            .msg(9, Enc::default().int(1, 1_700_000_000).int(2, 5))
            .int(10, 0);
        let ns = envelope("v1", "Namespace", &Enc::default().msg(1, m).msg(2, Enc::default()).msg(3, Enc::default().str(1, "")));
        assert_eq!(
            decode(&ns).expect("decode"),
            json!({
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {
                    "name": "class-a",
                    "labels": {"team": "a", "tier": ""},
                    "annotations": {"note": "hi"},
                    "ownerReferences": [{"apiVersion": "v1", "kind": "Namespace", "name": "parent", "uid": "u-1", "controller": true}],
                    "finalizers": ["example.com/keep"],
                    "deletionTimestamp": "2023-11-14T22:13:20Z",
                    "deletionGracePeriodSeconds": 0,
                },
                "spec": {},
                "status": {},
            })
        );
        // A creation time that is set is kept; int64s may be negative.
        let m = Enc::default().str(1, "t").msg(8, Enc::default().int(1, 0)).int(7, -3);
        let v = decode(&envelope("v1", "Namespace", &Enc::default().msg(1, m))).expect("decode");
        assert_eq!(v["metadata"], json!({"name": "t", "creationTimestamp": "1970-01-01T00:00:00Z", "generation": -3}));
    }

    #[test]
    fn kinds_without_a_schema_and_refused_fields_are_415() {
        let e = err(&envelope("apps/v1", "StatefulSet", &Enc::default()));
        assert_eq!(e.code, 415);
        assert!(e.message.contains("apps/v1 StatefulSet") && e.message.contains("application/json"), "{}", e.message);
        let managed = Enc::default().str(1, "x").msg(17, Enc::default().str(1, "kubectl"));
        let e = err(&envelope("v1", "Namespace", &Enc::default().msg(1, managed)));
        assert_eq!(e.code, 415);
        assert!(e.message.contains("ObjectMeta.managedFields"), "{}", e.message);
        let gzip = Enc::default().msg(1, Enc::default().str(1, "v1").str(2, "Namespace")).bytes(2, b"").str(3, "gzip");
        assert_eq!(err(&[MAGIC, &gzip.0].concat()).code, 415);
    }

    #[test]
    fn malformed_bodies_are_400_with_a_reason() {
        assert_eq!(err(b"").code, 400);
        assert!(err(b"{}").message.contains("magic"));
        assert!(err(b"k8s\x01\x0a\x00").message.contains("magic"));
        // The envelope alone: no kind.
        assert!(err(MAGIC).message.contains("apiVersion and kind"));
        // A length prefix larger than the body.
        let e = err(&[MAGIC, &[0x0a, 0x7f, 0x0a]].concat());
        assert!(e.message.contains("length of 127 bytes"), "{}", e.message);
        // An 11-byte varint, as a field tag and as a value.
        assert!(err(&[MAGIC, &[0xff; 10], &[0x01]].concat()).message.contains("longer than 10 bytes"));
        let long = Enc::default().str(1, "x").tag(7, VARINT).raw(&[0x80; 10]).raw(&[0]);
        assert!(err(&envelope("v1", "Namespace", &Enc::default().msg(1, long))).message.contains("longer than 10 bytes"));
        // A 10-byte varint that overflows 64 bits.
        let over = Enc::default().str(1, "x").tag(7, VARINT).raw(&[0x80; 9]).raw(&[0x02]);
        assert!(err(&envelope("v1", "Namespace", &Enc::default().msg(1, over))).message.contains("64 bits"));
        // An unknown field number, with where it was.
        let e = err(&service(meta("u", &[]), spec(vec![port("p", 80, int_port(80), 0).int(99, 1)], &[], "", "", "")));
        assert_eq!(e.code, 400);
        assert!(e.message.contains("Service spec.ports[0]: ServicePort has no field number 99"), "{}", e.message);
        // A known field with the wrong wire type: port as a string.
        let e = err(&service(meta("w", &[]), spec(vec![Enc::default().str(3, "80")], &[], "", "", "")));
        assert!(e.message.contains("spec.ports[0].port: wire type 2 where an int32"), "{}", e.message);
        // A 64-bit wire type where a string belongs, and a group.
        assert_eq!(err(&envelope("v1", "Namespace", &Enc::default().msg(1, Enc::default().tag(1, 1).raw(&[0; 8])))).code, 400);
        assert_eq!(err(&envelope("v1", "Namespace", &Enc::default().tag(2, 3))).code, 400);
        // A singular field twice, a label twice, bad UTF-8, an int32 out of range,
        // an IntOrString of a third type, a time past the year 9999.
        assert!(err(&envelope("v1", "Namespace", &Enc::default().msg(1, Enc::default().str(1, "a").str(1, "b")))).message.contains("twice"));
        assert!(err(&envelope("v1", "Namespace", &Enc::default().msg(1, meta("a", &[("k", "1"), ("k", "2")])))).message.contains("twice"));
        assert!(err(&envelope("v1", "Namespace", &Enc::default().msg(1, Enc::default().bytes(1, &[0xff, 0xfe])))).message.contains("UTF-8"));
        assert!(err(&service(meta("i", &[]), spec(vec![Enc::default().int(3, 1 << 40)], &[], "", "", ""))).message.contains("int32"));
        assert!(err(&service(meta("i", &[]), spec(vec![Enc::default().msg(4, Enc::default().int(1, 2))], &[], "", "", ""))).message.contains("IntOrString"));
        assert!(err(&envelope("v1", "Namespace", &Enc::default().msg(1, Enc::default().msg(8, Enc::default().int(1, 1 << 40))))).message.contains("9999"));
        // Field number 0, and an envelope field twice.
        assert_eq!(err(&[MAGIC, &[0x02, 0x00]].concat()).code, 400);
        let twice = Enc::default().msg(1, Enc::default().str(1, "v1").str(2, "Namespace")).bytes(2, b"").bytes(2, b"");
        assert!(err(&[MAGIC, &twice.0].concat()).message.contains("raw: the field appears twice"));
    }

    /// A cut inside the object is always refused. Protobuf cannot tell a cut between two
    /// of the envelope's own fields from a body without them: kubectl ends its envelope
    /// with the empty `contentEncoding` and `contentType` (`1a 00 22 00`), and a body cut
    /// just before either reads as the same object.
    #[test]
    fn every_truncation_of_a_valid_body_is_refused() {
        for body in [
            hex(KUBECTL_HEADLESS),
            hex(KUBECTL_NAMESPACE),
            headless(),
            envelope("v1", "Namespace", &Enc::default().msg(1, meta("class-a", &[("a", "b")])).msg(2, Enc::default())),
        ] {
            let whole = decode(&body).expect("the whole body reads");
            assert!(body.ends_with(&[0x1a, 0x00, 0x22, 0x00]));
            for cut in 0..body.len() {
                if cut == body.len() - 4 || cut == body.len() - 2 {
                    assert_eq!(decode(&body[..cut]).expect("a cut between empty envelope fields"), whole);
                    continue;
                }
                let e = err(&body[..cut]);
                assert_eq!(e.code, 400, "cut at {cut}: {}", e.message);
            }
        }
    }

    static NEST: Msg = Msg { name: "Nest", fields: &[keep(1, "child", Ty::Msg(&NEST))] };

    #[test]
    fn nesting_is_bounded() {
        let mut m = Enc::default();
        for _ in 0..MAX_DEPTH - 1 {
            m = Enc::default().msg(1, m);
        }
        Decoder::for_body(&m.0).message(&NEST, &m.0, 1).unwrap_or_else(|f| panic!("{} deep should read: {}", MAX_DEPTH, f.what));
        let deeper = Enc::default().msg(1, m);
        let f = Decoder::for_body(&deeper.0).message(&NEST, &deeper.0, 1).expect_err("too deep");
        assert!(f.what.contains("nest more than 32"), "{}", f.what);
    }

    #[test]
    fn the_json_built_is_bounded_by_the_body() {
        // A thousand empty ports, two bytes each on the wire: fine, and within the bound.
        let mut ports = Enc::default();
        for _ in 0..1000 {
            ports = ports.msg(1, Enc::default());
        }
        let body = service(meta("b", &[]), ports.clone());
        let v = decode(&body).expect("1000 empty ports read");
        assert_eq!(v["spec"]["ports"].as_array().map(Vec::len), Some(1000));
        assert!(v.to_string().len() <= body.len() * BUDGET_PER_BYTE + BUDGET_BASE);
        // The same message against a small budget stops with a reason.
        let svc = Enc::default().msg(2, ports);
        let f = Decoder { budget: 100 }.message(&SERVICE, &svc.0, 1).expect_err("over budget");
        assert!(f.what.contains("more JSON"), "{}", f.what);
    }

    /// Tables must keep protobuf's rules: unique field numbers, at most 29 bits.
    #[test]
    fn tables_are_consistent() {
        for m in [
            &TYPE_META,
            &OBJECT_META,
            &OWNER_REFERENCE,
            &CONDITION,
            &TIME,
            &MAP_ENTRY,
            &INT_OR_STRING,
            &SERVICE,
            &SERVICE_SPEC,
            &SERVICE_PORT,
            &SESSION_AFFINITY_CONFIG,
            &CLIENT_IP_CONFIG,
            &SERVICE_STATUS,
            &LOAD_BALANCER_STATUS,
            &LOAD_BALANCER_INGRESS,
            &PORT_STATUS,
            &NAMESPACE,
            &NAMESPACE_SPEC,
            &NAMESPACE_STATUS,
            &NAMESPACE_CONDITION,
        ] {
            let mut nums: Vec<u32> = m.fields.iter().map(|f| f.num).collect();
            nums.sort_unstable();
            nums.dedup();
            assert_eq!(nums.len(), m.fields.len(), "{}", m.name);
            let mut names: Vec<&str> = m.fields.iter().map(|f| f.name).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), m.fields.len(), "{}", m.name);
        }
    }

    #[test]
    fn random_bytes_after_the_magic_never_panic() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..4000 {
            let len = (next() % 256) as usize;
            let body: Vec<u8> = MAGIC.iter().copied().chain((0..len).map(|_| next() as u8)).collect();
            err(&body);
        }
        // A valid body with a few bytes changed reaches deeper into the tables; some of
        // these still read (a changed letter in a name), none may panic or run over.
        let valid = headless();
        for _ in 0..4000 {
            let mut body = valid.clone();
            for _ in 0..1 + next() % 4 {
                let at = MAGIC.len() + (next() as usize) % (body.len() - MAGIC.len());
                body[at] = next() as u8;
            }
            match decode(&body) {
                Ok(v) => assert!(v.to_string().len() <= body.len() * BUDGET_PER_BYTE + BUDGET_BASE),
                Err(e) => assert!(e.code == 400 || e.code == 415, "{e:?}"),
            }
        }
    }
}
