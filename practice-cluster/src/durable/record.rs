//! The journal's records and their on-disk framing.
//!
//! A frame is `length (u32 LE) | CRC-32 of the payload (u32 LE) | payload`; the payload
//! is a tag byte and the record's fields (strings and byte strings as a u32 LE length and
//! the bytes, numbers as u64 LE). Reading stops at the first frame that is cut short or
//! whose checksum does not match: that is the tail a `kill -9` or power cut can leave.

/// Largest payload accepted when reading, so a corrupt length cannot ask for gigabytes.
const MAX_PAYLOAD: usize = 256 * 1024 * 1024;

const TAG_OBJECT: u8 = 1;
const TAG_DELETED: u8 = 2;
const TAG_FILE: u8 = 3;
const TAG_DIR: u8 = 4;
const TAG_REMOVED: u8 = 5;
const TAG_VOLUME_GONE: u8 = 6;
const TAG_VERSION: u8 = 7;

/// One change to the durable state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// An API object's latest state (its JSON, with resourceVersion `rv`).
    Object {
        /// `apiVersion/kind`, e.g. `apps/v1/StatefulSet`.
        kind: String,
        /// Namespace, `""` for cluster-scoped kinds.
        namespace: String,
        /// Name.
        name: String,
        /// The resourceVersion of this write.
        rv: u64,
        /// The object as JSON.
        json: Vec<u8>,
    },
    /// An API object was removed at resourceVersion `rv`.
    Deleted {
        /// `apiVersion/kind`.
        kind: String,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// The resourceVersion of the deletion.
        rv: u64,
    },
    /// A file of a PersistentVolume, with its whole content.
    File {
        /// PersistentVolume name.
        volume: String,
        /// Absolute path inside the volume.
        path: String,
        /// Modification time, nanoseconds since the Unix epoch.
        modified: u64,
        /// Content.
        data: Vec<u8>,
    },
    /// A directory of a PersistentVolume.
    Dir {
        /// PersistentVolume name.
        volume: String,
        /// Absolute path inside the volume.
        path: String,
        /// Modification time, nanoseconds since the Unix epoch.
        modified: u64,
    },
    /// A path of a PersistentVolume and everything below it were removed.
    Removed {
        /// PersistentVolume name.
        volume: String,
        /// Absolute path inside the volume.
        path: String,
    },
    /// A PersistentVolume's files were all freed (the volume was deleted).
    VolumeGone {
        /// PersistentVolume name.
        volume: String,
    },
    /// The resourceVersion counter had reached `rv` (first record of a compacted log,
    /// so versions taken by since-deleted objects are never handed out again).
    Version {
        /// The latest resourceVersion handed out.
        rv: u64,
    },
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    // Payloads are far below 4 GiB: every record is one object or one file.
    out.extend_from_slice(&u32::try_from(b.len()).unwrap_or(u32::MAX).to_le_bytes());
    out.extend_from_slice(b);
}

fn put_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(&n.to_le_bytes());
}

impl Record {
    fn payload(&self) -> Vec<u8> {
        let mut p = Vec::new();
        match self {
            Record::Object { kind, namespace, name, rv, json } => {
                p.push(TAG_OBJECT);
                put_bytes(&mut p, kind.as_bytes());
                put_bytes(&mut p, namespace.as_bytes());
                put_bytes(&mut p, name.as_bytes());
                put_u64(&mut p, *rv);
                put_bytes(&mut p, json);
            }
            Record::Deleted { kind, namespace, name, rv } => {
                p.push(TAG_DELETED);
                put_bytes(&mut p, kind.as_bytes());
                put_bytes(&mut p, namespace.as_bytes());
                put_bytes(&mut p, name.as_bytes());
                put_u64(&mut p, *rv);
            }
            Record::File { volume, path, modified, data } => {
                p.push(TAG_FILE);
                put_bytes(&mut p, volume.as_bytes());
                put_bytes(&mut p, path.as_bytes());
                put_u64(&mut p, *modified);
                put_bytes(&mut p, data);
            }
            Record::Dir { volume, path, modified } => {
                p.push(TAG_DIR);
                put_bytes(&mut p, volume.as_bytes());
                put_bytes(&mut p, path.as_bytes());
                put_u64(&mut p, *modified);
            }
            Record::Removed { volume, path } => {
                p.push(TAG_REMOVED);
                put_bytes(&mut p, volume.as_bytes());
                put_bytes(&mut p, path.as_bytes());
            }
            Record::VolumeGone { volume } => {
                p.push(TAG_VOLUME_GONE);
                put_bytes(&mut p, volume.as_bytes());
            }
            Record::Version { rv } => {
                p.push(TAG_VERSION);
                put_u64(&mut p, *rv);
            }
        }
        p
    }

    /// The record as one frame, ready to append.
    pub fn frame(&self) -> Vec<u8> {
        let payload = self.payload();
        let mut out = Vec::with_capacity(payload.len() + 8);
        out.extend_from_slice(&u32::try_from(payload.len()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out.extend_from_slice(&payload);
        out
    }

    fn decode(payload: &[u8]) -> Option<Record> {
        let mut r = Reader(payload);
        let record = match r.u8()? {
            TAG_OBJECT => Record::Object { kind: r.string()?, namespace: r.string()?, name: r.string()?, rv: r.u64()?, json: r.bytes()? },
            TAG_DELETED => Record::Deleted { kind: r.string()?, namespace: r.string()?, name: r.string()?, rv: r.u64()? },
            TAG_FILE => Record::File { volume: r.string()?, path: r.string()?, modified: r.u64()?, data: r.bytes()? },
            TAG_DIR => Record::Dir { volume: r.string()?, path: r.string()?, modified: r.u64()? },
            TAG_REMOVED => Record::Removed { volume: r.string()?, path: r.string()? },
            TAG_VOLUME_GONE => Record::VolumeGone { volume: r.string()? },
            TAG_VERSION => Record::Version { rv: r.u64()? },
            _ => return None,
        };
        r.0.is_empty().then_some(record)
    }
}

/// A cursor over a payload; every read fails (None) past the end.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }

    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take(8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes)
    }

    fn bytes(&mut self) -> Option<Vec<u8>> {
        let n = usize::try_from(self.u32()?).ok()?;
        self.take(n).map(<[u8]>::to_vec)
    }

    fn string(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?).ok()
    }
}

/// The records of a log file's bytes, and how many leading bytes hold whole, intact
/// frames (the rest is a torn or corrupt tail to cut off).
pub fn read_all(mut bytes: &[u8]) -> (Vec<Record>, usize) {
    let total = bytes.len();
    let mut records = Vec::new();
    loop {
        let mut r = Reader(bytes);
        let (Some(len), Some(crc)) = (r.u32(), r.u32()) else { break };
        let Ok(len) = usize::try_from(len) else { break };
        if len > MAX_PAYLOAD {
            break;
        }
        let Some(payload) = r.take(len) else { break };
        if crc32fast::hash(payload) != crc {
            break;
        }
        let Some(record) = Record::decode(payload) else { break };
        records.push(record);
        bytes = r.0;
    }
    (records, total - bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Record> {
        vec![
            Record::Version { rv: 41 },
            Record::Object { kind: "v1/Pod".into(), namespace: "default".into(), name: "web-0".into(), rv: 42, json: b"{\"a\":1}".to_vec() },
            Record::Deleted { kind: "v1/Pod".into(), namespace: "default".into(), name: "web-0".into(), rv: 43 },
            Record::Dir { volume: "pvc-1".into(), path: "/d".into(), modified: 7 },
            Record::File { volume: "pvc-1".into(), path: "/d/visits".into(), modified: 9, data: b"12\n".to_vec() },
            Record::Removed { volume: "pvc-1".into(), path: "/d".into() },
            Record::VolumeGone { volume: "pvc-1".into() },
        ]
    }

    #[test]
    fn every_record_reads_back_as_written() {
        let bytes: Vec<u8> = samples().iter().flat_map(Record::frame).collect();
        let (records, good) = read_all(&bytes);
        assert_eq!(records, samples());
        assert_eq!(good, bytes.len());
    }

    #[test]
    fn a_torn_tail_is_dropped_at_every_cut() {
        let whole: Vec<u8> = samples().iter().flat_map(Record::frame).collect();
        let ends: Vec<usize> = samples()
            .iter()
            .scan(0, |end, r| {
                *end += r.frame().len();
                Some(*end)
            })
            .collect();
        for cut in 0..whole.len() {
            let (records, good) = read_all(&whole[..cut]);
            let complete = ends.iter().filter(|e| **e <= cut).count();
            assert_eq!(records.len(), complete, "cut at {cut}");
            assert_eq!(good, if complete == 0 { 0 } else { ends[complete - 1] }, "cut at {cut}");
        }
    }

    #[test]
    fn a_flipped_bit_ends_the_log_there() {
        let frames: Vec<Vec<u8>> = samples().iter().map(Record::frame).collect();
        let mut bytes: Vec<u8> = frames.concat();
        let second = frames[0].len();
        bytes[second + 12] ^= 0x10;
        let (records, good) = read_all(&bytes);
        assert_eq!(records, samples()[..1]);
        assert_eq!(good, second);
    }
}
