//! Gzip for the live stream, compressed once for every viewer.
//!
//! A compressor per open page would cost its window and tables (hundreds of KB) per
//! viewer and the same work 200 times for every change. Instead each message is
//! compressed once, on its own, into deflate blocks that end on a byte boundary (a
//! sync flush) and refer to nothing before them ([`Frame`]). Any sequence of such
//! chunks is itself valid deflate data, so every gzip stream sends the same chunk
//! bytes; a stream keeps only the CRC-32 and length of what it sent ([`Member`], from
//! each frame's own CRC, combined), for the gzip trailer when the server ends the stream.

use std::io::Write;
use std::sync::LazyLock;

use bytes::{BufMut, Bytes, BytesMut};
use flate2::Compression;
use flate2::write::DeflateEncoder;

/// A gzip member's header: deflate, no name, no time, unknown system.
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
/// An empty stored block marked final: ends the deflate data before the trailer.
const LAST_BLOCK: [u8; 5] = [0x01, 0x00, 0x00, 0xff, 0xff];

/// One server-sent event, plain and as a standalone deflate chunk.
#[derive(Clone, Debug)]
pub struct Frame {
    /// The event's bytes as written.
    pub plain: Bytes,
    /// The same bytes as deflate blocks that stand alone and end on a byte boundary.
    pub deflated: Bytes,
    /// The CRC-32 of `plain`, for the trailers of the streams that send it.
    crc: crc32fast::Hasher,
}

impl Frame {
    /// Compresses `plain` once.
    pub fn new(plain: Bytes) -> Self {
        Self::with_deflated(plain.clone(), Bytes::from(deflate(&plain)))
    }

    fn with_deflated(plain: Bytes, deflated: Bytes) -> Self {
        let mut crc = crc32fast::Hasher::new();
        crc.update(&plain);
        Frame { plain, deflated, crc }
    }

    /// The keep-alive comment an idle stream sends.
    pub fn keep_alive() -> Self {
        static KEEP_ALIVE: LazyLock<Frame> = LazyLock::new(|| Frame::new(Bytes::from_static(b":\n\n")));
        KEEP_ALIVE.clone()
    }
}

/// `data` compressed with a fresh compressor and sync-flushed; stored blocks (no
/// compression) if the compressor fails, which it does not on a `Vec`.
fn deflate(data: &[u8]) -> Vec<u8> {
    let mut encoder = DeflateEncoder::new(Vec::with_capacity(data.len() / 3 + 64), Compression::default());
    match encoder.write_all(data).and_then(|()| encoder.flush()) {
        // `flush` is a sync flush; taking the buffer leaves the final block to a drop
        // that writes into an empty vector.
        Ok(()) => {
            let mut out = std::mem::take(encoder.get_mut());
            out.shrink_to_fit();
            out
        }
        Err(e) => {
            tracing::error!(error = %e, "could not compress a stream message; sending it stored");
            stored(data)
        }
    }
}

/// `data` as non-final stored deflate blocks.
fn stored(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 5 * (data.len() / 0xffff + 1));
    for block in data.chunks(0xffff) {
        let len = u16::try_from(block.len()).unwrap_or(u16::MAX);
        out.push(0);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out
}

/// One stream's gzip member: what it has sent so far, for the trailer.
#[derive(Default)]
pub struct Member {
    crc: crc32fast::Hasher,
    len: u32,
    started: bool,
}

impl Member {
    /// The bytes that carry `frame` on this stream (the header first).
    pub fn send(&mut self, frame: &Frame) -> Bytes {
        self.crc.combine(&frame.crc);
        // ISIZE is the length modulo 2^32.
        self.len = self.len.wrapping_add(frame.plain.len() as u32);
        if self.started {
            return frame.deflated.clone();
        }
        self.started = true;
        let mut first = BytesMut::with_capacity(HEADER.len() + frame.deflated.len());
        first.put_slice(&HEADER);
        first.put_slice(&frame.deflated);
        first.freeze()
    }

    /// The end of the member: the final block, the CRC-32 and the length.
    pub fn finish(self) -> Bytes {
        let mut end = BytesMut::with_capacity(HEADER.len() + LAST_BLOCK.len() + 8);
        if !self.started {
            end.put_slice(&HEADER);
        }
        end.put_slice(&LAST_BLOCK);
        end.put_u32_le(self.crc.finalize());
        end.put_u32_le(self.len);
        end.freeze()
    }
}

/// Whether an `Accept-Encoding` header value accepts gzip: `gzip` with a non-zero
/// weight, or else `*` with one.
pub fn accepted(accept_encoding: &str) -> bool {
    let mut any = false;
    for coding in accept_encoding.split(',') {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or_default();
        let weight = parts.find_map(|p| p.strip_prefix("q=").or_else(|| p.strip_prefix("Q="))).map(str::trim);
        let wanted = weight.is_none_or(|q| q.parse::<f32>().is_ok_and(|q| q > 0.0));
        if name.eq_ignore_ascii_case("gzip") {
            return wanted;
        }
        any |= name == "*" && wanted;
    }
    any
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use flate2::read::GzDecoder;

    use super::*;

    fn frame(text: &str) -> Frame {
        Frame::new(Bytes::from(text.to_owned()))
    }

    fn gunzip(bytes: &[u8]) -> std::io::Result<String> {
        let mut out = String::new();
        GzDecoder::new(bytes).read_to_string(&mut out)?;
        Ok(out)
    }

    #[test]
    fn streams_that_share_chunks_each_decode_to_what_they_were_sent() {
        let snapshot = frame(&format!("event: delta\ndata: {{\"snapshot\":{{\"pods\":[{}]}}}}\n\n", "{\"name\":\"web-0\"},".repeat(300)));
        let change = frame("event: delta\ndata: {\"changes\":{\"revision\":2,\"changes\":[{\"podPatch\":{\"name\":\"web-0\",\"ready\":\"0/1\"}}]}}\n\n");
        let other = frame("event: delta\ndata: {\"changes\":{\"revision\":3,\"changes\":[]}}\n\n");

        // Two viewers: one from the start, one that joined after the change.
        let mut early = Member::default();
        let mut wire = [early.send(&snapshot), early.send(&change), early.send(&Frame::keep_alive()), early.send(&other)].concat();
        wire.extend_from_slice(&early.finish());
        let plain = [&snapshot.plain[..], &change.plain, b":\n\n", &other.plain].concat();
        assert_eq!(gunzip(&wire).expect("valid gzip"), String::from_utf8(plain).expect("utf-8"));

        let mut late = Member::default();
        let first = late.send(&other);
        assert_eq!(&first[HEADER.len()..], &other.deflated[..], "the same chunk bytes, after the header");
        let wire = [first, late.finish()].concat();
        assert_eq!(gunzip(&wire).expect("valid gzip"), std::str::from_utf8(&other.plain).expect("utf-8"));

        // A stream ended before it sent anything is an empty gzip member.
        assert_eq!(gunzip(&Member::default().finish()).expect("valid gzip"), "");
    }

    #[test]
    fn a_chunk_decodes_on_its_own_before_the_trailer_arrives() {
        // A browser reads each event as it comes: the chunk must flush everything.
        let change = frame("event: delta\ndata: {\"changes\":{\"revision\":2}}\n\n");
        let mut member = Member::default();
        let wire = member.send(&change);
        let mut decoder = flate2::write::GzDecoder::new(Vec::new());
        decoder.write_all(&wire).expect("decode");
        decoder.flush().expect("flush");
        assert_eq!(decoder.get_ref(), &change.plain[..]);
    }

    #[test]
    fn a_change_costs_less_than_half_its_json() {
        let change = frame(&format!(
            "event: delta\ndata: {{\"changes\":{{\"revision\":4,\"changes\":[{}]}}}}\n\n",
            "{\"narrated\":[{\"id\":5,\"text\":\"web-0 is no longer Ready (READY 0/1): its readiness probe failed 2 times in a row.\",\"kubectl\":\"kubectl get pod web-0\",\"pod\":\"web-0\",\"kind\":\"warning\"}]},"
                .repeat(4)
                .trim_end_matches(',')
        ));
        assert!(change.deflated.len() * 2 < change.plain.len(), "{} of {}", change.deflated.len(), change.plain.len());
    }

    #[test]
    fn stored_blocks_are_valid_deflate_data() {
        let data = "x".repeat(70_000);
        let mut member = Member::default();
        let fallback = Frame::with_deflated(Bytes::from(data.clone()), Bytes::from(stored(data.as_bytes())));
        let wire = [member.send(&fallback), member.finish()].concat();
        assert_eq!(gunzip(&wire).expect("valid gzip"), data);
    }

    #[test]
    fn accept_encoding_is_read_as_browsers_and_curl_send_it() {
        assert!(accepted("gzip, deflate, br, zstd"));
        assert!(accepted("br;q=1.0, GZIP;q=0.5"));
        assert!(accepted("*"));
        assert!(!accepted(""));
        assert!(!accepted("br, deflate"));
        assert!(!accepted("gzip;q=0"));
        assert!(!accepted("gzip; q=0.000, br"));
        assert!(!accepted("gzip;q=bogus"));
        assert!(!accepted("gzip;q=0, *"), "an explicit refusal wins over *");
    }
}
