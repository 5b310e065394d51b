//! SPDY/3.1 framing, the part a port-forward server needs.
//!
//! kubectl 1.30+ tunnels a SPDY/3.1 connection through a WebSocket for
//! `kubectl port-forward` (subprotocol `SPDY/3.1+portforward.k8s.io`): the binary
//! messages carry the raw bytes of the SPDY connection, split anywhere. [`Decoder`]
//! turns those bytes back into [`Frame`]s; [`Encoder`] writes the frames a server
//! sends (SYN_REPLY, DATA, PING echoes). Header blocks are zlib streams primed with
//! the SPDY/3 dictionary, one stream per direction for the connection's lifetime.

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// Errors that end a SPDY connection.
#[derive(Debug, thiserror::Error)]
pub enum SpdyError {
    /// A control frame of a SPDY version other than 3.
    #[error("unsupported SPDY version {0}")]
    Version(u16),
    /// A frame whose fields do not add up.
    #[error("invalid {0} frame")]
    Invalid(&'static str),
    /// A header block that does not decompress or is too large.
    #[error("invalid header block: {0}")]
    Headers(String),
}

/// Result of SPDY framing.
pub type Result<T, E = SpdyError> = std::result::Result<T, E>;

/// SPDY/3 control frame types used here.
const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
/// The FIN flag, on DATA and SYN frames alike.
const FLAG_FIN: u8 = 0x01;
/// Largest decompressed header block accepted.
const MAX_HEADER_BLOCK: usize = 64 * 1024;
/// Largest frame payload accepted (the field allows 16 MiB).
const MAX_FRAME: usize = 1 << 20;

/// A frame received from the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A new stream with its (lower-cased) headers.
    SynStream {
        /// The stream's id (odd: client-initiated).
        stream: u32,
        /// Header names and values.
        headers: Vec<(String, String)>,
        /// The client sends nothing more on it.
        fin: bool,
    },
    /// Bytes on a stream; `fin` half-closes it.
    Data {
        /// The stream.
        stream: u32,
        /// The payload.
        data: Vec<u8>,
        /// The sender's last frame on this stream.
        fin: bool,
    },
    /// The client abandoned a stream.
    RstStream {
        /// The stream.
        stream: u32,
    },
    /// A ping to echo.
    Ping(u32),
    /// The client is going away.
    GoAway,
    /// Frames a port-forward server can ignore (SETTINGS, WINDOW_UPDATE, HEADERS, ...).
    Ignored,
}

/// The SPDY/3 header compression dictionary (draft 3, section 2.6.10.1): length-prefixed
/// header names and values, then common value fragments.
fn dictionary() -> Vec<u8> {
    const WORDS: &[&str] = &[
        "options",
        "head",
        "post",
        "put",
        "delete",
        "trace",
        "accept",
        "accept-charset",
        "accept-encoding",
        "accept-language",
        "accept-ranges",
        "age",
        "allow",
        "authorization",
        "cache-control",
        "connection",
        "content-base",
        "content-encoding",
        "content-language",
        "content-length",
        "content-location",
        "content-md5",
        "content-range",
        "content-type",
        "date",
        "etag",
        "expect",
        "expires",
        "from",
        "host",
        "if-match",
        "if-modified-since",
        "if-none-match",
        "if-range",
        "if-unmodified-since",
        "last-modified",
        "location",
        "max-forwards",
        "pragma",
        "proxy-authenticate",
        "proxy-authorization",
        "range",
        "referer",
        "retry-after",
        "server",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "vary",
        "via",
        "warning",
        "www-authenticate",
        "method",
        "get",
        "status",
        "200 OK",
        "version",
        "HTTP/1.1",
        "url",
        "public",
        "set-cookie",
        "keep-alive",
        "origin",
    ];
    const TAIL: &str = concat!(
        "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505",
        "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized403 Forbidden",
        "404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable",
        "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT",
        "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,text/javascript,",
        "publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.",
    );
    let mut d = Vec::with_capacity(1423);
    for w in WORDS {
        d.extend_from_slice(&(w.len() as u32).to_be_bytes());
        d.extend_from_slice(w.as_bytes());
    }
    d.extend_from_slice(TAIL.as_bytes());
    d
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Reads frames out of the bytes a client sends.
pub struct Decoder {
    buf: Vec<u8>,
    inflate: Decompress,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder { buf: Vec::new(), inflate: Decompress::new(true) }
    }
}

impl Decoder {
    /// Adds bytes received from the client.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, if one has arrived.
    pub fn next_frame(&mut self) -> Result<Option<Frame>> {
        if self.buf.len() < 8 {
            return Ok(None);
        }
        let len = (be32(&self.buf[4..8]) & 0x00ff_ffff) as usize;
        if len > MAX_FRAME {
            return Err(SpdyError::Invalid("oversized"));
        }
        if self.buf.len() < 8 + len {
            return Ok(None);
        }
        let frame: Vec<u8> = self.buf.drain(..8 + len).collect();
        let flags = frame[4];
        let payload = &frame[8..];
        if frame[0] & 0x80 == 0 {
            let stream = be32(&frame[0..4]) & 0x7fff_ffff;
            return Ok(Some(Frame::Data { stream, data: payload.to_vec(), fin: flags & FLAG_FIN != 0 }));
        }
        let version = u16::from_be_bytes([frame[0] & 0x7f, frame[1]]);
        if version != 3 {
            return Err(SpdyError::Version(version));
        }
        let stream_of = |what| if payload.len() >= 4 { Ok(be32(payload) & 0x7fff_ffff) } else { Err(SpdyError::Invalid(what)) };
        Ok(Some(match u16::from_be_bytes([frame[2], frame[3]]) {
            SYN_STREAM => {
                if payload.len() < 10 {
                    return Err(SpdyError::Invalid("SYN_STREAM"));
                }
                let headers = self.headers(&payload[10..])?;
                Frame::SynStream { stream: stream_of("SYN_STREAM")?, headers, fin: flags & FLAG_FIN != 0 }
            }
            RST_STREAM => Frame::RstStream { stream: stream_of("RST_STREAM")? },
            PING => Frame::Ping(stream_of("PING").map(|_| be32(payload))?),
            GOAWAY => Frame::GoAway,
            _ => Frame::Ignored,
        }))
    }

    /// Decompresses one header block and splits it into name/value pairs.
    fn headers(&mut self, block: &[u8]) -> Result<Vec<(String, String)>> {
        let mut out = Vec::with_capacity(256);
        let mut input = block;
        loop {
            if out.len() == out.capacity() {
                if out.len() >= MAX_HEADER_BLOCK {
                    return Err(SpdyError::Headers("too large".into()));
                }
                out.reserve(out.len());
            }
            let (before, produced) = (self.inflate.total_in(), out.len());
            let result = self.inflate.decompress_vec(input, &mut out, FlushDecompress::Sync);
            let used = usize::try_from(self.inflate.total_in() - before).unwrap_or(input.len());
            input = &input[used.min(input.len())..];
            let stuck = used == 0 && out.len() == produced && out.len() < out.capacity();
            match result {
                // The client's zlib stream starts by asking for the SPDY dictionary.
                Err(e) if e.needs_dictionary().is_some() => {
                    self.inflate.set_dictionary(&dictionary()).map_err(|e| SpdyError::Headers(e.to_string()))?;
                }
                Err(e) => return Err(SpdyError::Headers(e.to_string())),
                Ok(Status::StreamEnd) => break,
                Ok(_) if input.is_empty() && out.len() < out.capacity() => break,
                Ok(_) if stuck => return Err(SpdyError::Headers("no progress".into())),
                Ok(_) => {}
            }
        }
        parse_header_block(&out).ok_or_else(|| SpdyError::Headers("truncated name/value block".into()))
    }
}

/// `u32 count, (u32 len, name, u32 len, value)*`.
fn parse_header_block(mut b: &[u8]) -> Option<Vec<(String, String)>> {
    let mut take = |n: usize| -> Option<&[u8]> {
        let (head, rest) = (b.get(..n)?, b.get(n..)?);
        b = rest;
        Some(head)
    };
    let count = be32(take(4)?);
    let mut headers = Vec::new();
    for _ in 0..count {
        let n = be32(take(4)?) as usize;
        let name = String::from_utf8_lossy(take(n)?).to_ascii_lowercase();
        let n = be32(take(4)?) as usize;
        let value = String::from_utf8_lossy(take(n)?).into_owned();
        headers.push((name, value));
    }
    Some(headers)
}

/// Writes the frames a server sends.
pub struct Encoder {
    deflate: Compress,
    primed: bool,
}

impl Default for Encoder {
    fn default() -> Self {
        Encoder { deflate: Compress::new(Compression::default(), true), primed: false }
    }
}

fn control(kind: u16, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(8 + payload.len());
    f.extend_from_slice(&[0x80, 3]);
    f.extend_from_slice(&kind.to_be_bytes());
    f.extend_from_slice(&((u32::from(flags) << 24) | payload.len() as u32).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

impl Encoder {
    /// Accepts stream `stream` with no headers.
    pub fn syn_reply(&mut self, stream: u32) -> Result<Vec<u8>> {
        if !self.primed {
            self.deflate.set_dictionary(&dictionary()).map_err(|e| SpdyError::Headers(e.to_string()))?;
            self.primed = true;
        }
        let mut block = Vec::with_capacity(64);
        // An empty name/value block: a count of zero.
        self.deflate.compress_vec(&0u32.to_be_bytes(), &mut block, FlushCompress::Sync).map_err(|e| SpdyError::Headers(e.to_string()))?;
        let mut payload = stream.to_be_bytes().to_vec();
        payload.extend_from_slice(&block);
        Ok(control(SYN_REPLY, 0, &payload))
    }
}

/// Bytes on `stream`; `fin` marks the server's last frame on it.
pub fn data(stream: u32, payload: &[u8], fin: bool) -> Vec<u8> {
    let mut f = Vec::with_capacity(8 + payload.len());
    f.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    let flags = if fin { FLAG_FIN } else { 0 };
    f.extend_from_slice(&((u32::from(flags) << 24) | payload.len() as u32).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// The answer to the client's ping `id`.
pub fn ping(id: u32) -> Vec<u8> {
    control(PING, 0, &id.to_be_bytes())
}

/// Refuses stream `stream` (status 3, REFUSED_STREAM).
pub fn refuse(stream: u32) -> Vec<u8> {
    let mut payload = stream.to_be_bytes().to_vec();
    payload.extend_from_slice(&3u32.to_be_bytes());
    control(RST_STREAM, 0, &payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A SYN_STREAM as a client writes it: headers compressed with the SPDY dictionary.
    fn syn_stream(deflate: &mut Compress, stream: u32, headers: &[(&str, &str)]) -> Vec<u8> {
        let mut block = (headers.len() as u32).to_be_bytes().to_vec();
        for (k, v) in headers {
            for s in [k, v] {
                block.extend_from_slice(&(s.len() as u32).to_be_bytes());
                block.extend_from_slice(s.as_bytes());
            }
        }
        let mut z = Vec::with_capacity(block.len() + 64);
        deflate.compress_vec(&block, &mut z, FlushCompress::Sync).expect("compress");
        let mut payload = stream.to_be_bytes().to_vec();
        payload.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        payload.extend_from_slice(&z);
        control(SYN_STREAM, 0, &payload)
    }

    #[test]
    fn the_dictionary_is_spdy3s() {
        // Length and Adler-32 of the draft-3 dictionary.
        let d = dictionary();
        assert_eq!(d.len(), 1423);
        let (mut a, mut b) = (1u32, 0u32);
        for &x in &d {
            a = (a + u32::from(x)) % 65521;
            b = (b + a) % 65521;
        }
        assert_eq!((b << 16) | a, 0xe3c6_a7c2);
    }

    #[test]
    fn frames_split_anywhere_decode_with_dictionary_compressed_headers() {
        let mut deflate = Compress::new(Compression::best(), true);
        deflate.set_dictionary(&dictionary()).expect("dictionary");
        let mut wire = syn_stream(&mut deflate, 1, &[("streamtype", "error"), ("port", "8000"), ("requestid", "0")]);
        wire.extend(syn_stream(&mut deflate, 3, &[("streamtype", "data"), ("port", "8000"), ("requestid", "0")]));
        wire.extend(data(3, b"GET / HTTP/1.1\r\n\r\n", true));
        wire.extend(ping(1));
        let mut d = Decoder::default();
        let mut frames = Vec::new();
        for chunk in wire.chunks(5) {
            d.push(chunk);
            while let Some(f) = d.next_frame().expect("valid frames") {
                frames.push(f);
            }
        }
        let header = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        assert_eq!(frames.len(), 4, "{frames:?}");
        assert_eq!(
            frames[1],
            Frame::SynStream { stream: 3, headers: vec![header("streamtype", "data"), header("port", "8000"), header("requestid", "0")], fin: false }
        );
        assert_eq!(frames[2], Frame::Data { stream: 3, data: b"GET / HTTP/1.1\r\n\r\n".to_vec(), fin: true });
        assert_eq!(frames[3], Frame::Ping(1));
    }

    #[test]
    fn replies_carry_empty_header_blocks_on_one_compression_stream() {
        let (mut e, mut d) = (Encoder::default(), Decoder::default());
        for stream in [1, 3] {
            let reply = e.syn_reply(stream).expect("reply");
            assert_eq!(&reply[..4], &[0x80, 3, 0, 2]);
            assert_eq!(be32(&reply[8..12]), stream);
            assert_eq!(d.headers(&reply[12..]).expect("decompresses"), vec![]);
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut d = Decoder::default();
        d.push(&[0x80, 2, 0, 1, 0, 0, 0, 0]);
        assert!(matches!(d.next_frame(), Err(SpdyError::Version(2))));
        let mut d = Decoder::default();
        d.push(&control(SYN_STREAM, 0, &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 2, 3]));
        assert!(d.next_frame().is_err());
        let mut d = Decoder::default();
        d.push(&control(PING, 0, &[1]));
        assert!(d.next_frame().is_err());
    }
}
