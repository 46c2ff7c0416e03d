//! Milter frames on a socket: a big-endian `u32` length, a command byte, the payload.
//!
//! The messages themselves are miltr-common's (MIT) except the header command: its accessors decode
//! lossily, and the original must be kept byte for byte (raw 8-bit Japanese header values exist).

use bytes::{Buf, BufMut, Bytes, BytesMut};
use miltr_common::decoding::ClientCommand;
use miltr_common::encoding::Writable;
use socket2::SockRef;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

/// Postfix sends body chunks of at most 65535 bytes; anything far larger is not a milter peer.
pub const MAX_FRAME: usize = 1 << 20;

/// A command from the MTA.
#[derive(Debug)]
pub enum Incoming {
    /// SMFIC_HEADER, raw.
    Header {
        name: Bytes,
        value: Bytes,
    },
    Other(ClientCommand),
}

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("frame of {0} bytes (at most {MAX_FRAME})")]
    TooLarge(usize),
    #[error("connection closed inside a frame")]
    Truncated,
    #[error("bad milter command: {0}")]
    Protocol(String),
}

/// One accepted connection from the MTA.
pub enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Conn {
    /// A TCP peer gets TCP_NODELAY: replies must not wait for the MTA's delayed ACK.
    pub fn tcp(stream: TcpStream) -> Conn {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::warn!(error = %e, "TCP_NODELAY not set");
        }
        Conn::Tcp(stream)
    }

    /// The next frame, or `None` when the MTA closed the connection between frames.
    pub async fn read_frame(&mut self, buf: &mut BytesMut) -> Result<Option<Incoming>, FrameError> {
        loop {
            if buf.len() >= 4 {
                let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
                if len == 0 || len > MAX_FRAME {
                    return Err(FrameError::TooLarge(len));
                }
                if buf.len() >= 4 + len {
                    buf.advance(4);
                    return decode(buf.split_to(len)).map(Some);
                }
                buf.reserve(4 + len - buf.len());
            } else {
                buf.reserve(4096);
            }
            let n = match self {
                Conn::Tcp(s) => {
                    let n = s.read_buf(buf).await?;
                    // Postfix writes macros and their command as two small packets; without a quick
                    // ACK the second waits ~40 ms for our delayed ACK (Nagle on its side). The flag
                    // is not sticky in Linux, so it is set again after every read.
                    let _ = SockRef::from(&*s).set_tcp_quickack(true);
                    n
                }
                Conn::Unix(s) => s.read_buf(buf).await?,
            };
            if n == 0 {
                return if buf.is_empty() {
                    Ok(None)
                } else {
                    Err(FrameError::Truncated)
                };
            }
        }
    }

    /// Writes every frame of a reply at once, so the MTA gets all end-of-message actions in one
    /// segment.
    pub async fn write_all(&mut self, frames: &[u8]) -> std::io::Result<()> {
        match self {
            Conn::Tcp(s) => s.write_all(frames).await,
            Conn::Unix(s) => s.write_all(frames).await,
        }
    }
}

fn decode(mut frame: BytesMut) -> Result<Incoming, FrameError> {
    if frame.first() == Some(&b'L') {
        frame.advance(1);
        let frame = frame.freeze();
        let mut fields = frame.split(|&b| b == 0);
        let (Some(name), Some(value)) = (fields.next(), fields.next()) else {
            return Err(FrameError::Protocol("header without NUL separators".into()));
        };
        return Ok(Incoming::Header {
            name: frame.slice_ref(name),
            value: frame.slice_ref(value),
        });
    }
    ClientCommand::parse(frame)
        .map(Incoming::Other)
        .map_err(|e| FrameError::Protocol(format!("{e:?}")))
}

/// Appends one frame for `message` to `out`.
pub fn encode<W: Writable>(out: &mut BytesMut, message: &W) {
    let len = message.len() + 1;
    out.reserve(4 + len);
    out.put_u32(len as u32);
    out.put_u8(message.code());
    message.write(out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_values_keep_their_bytes() {
        let mut frame = BytesMut::from(&b"LSubject\0 \x8b\x4c\x94\x4f\xff\0"[..]);
        let Incoming::Header { name, value } = decode(frame.split()).unwrap() else {
            panic!("not a header");
        };
        assert_eq!(&name[..], b"Subject");
        assert_eq!(&value[..], b" \x8b\x4c\x94\x4f\xff");
    }

    #[test]
    fn a_header_without_separators_is_an_error() {
        assert!(matches!(
            decode(BytesMut::from(&b"LSubject"[..])),
            Err(FrameError::Protocol(_))
        ));
    }
}
