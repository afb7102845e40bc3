//! Length-delimited frames, the one layout both of flightdeck's sockets
//! speak (the daemon's, and each keeper's): a big-endian `u32` length, then
//! that many bytes, of which the first is the frame's kind. Written here
//! rather than with tokio-util's codec because the keeper reads it with
//! blocking std I/O and must stay a small binary.

use std::io::{self, Read};

use tokio::io::{AsyncRead, AsyncReadExt};

/// One frame: `kind` and `payload`, prefixed with their length.
pub fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 5);
    out.extend_from_slice(&(payload.len() as u32 + 1).to_be_bytes());
    out.push(kind);
    out.extend_from_slice(payload);
    out
}

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("connection closed")]
    Closed,
    #[error("frame of {0} bytes exceeds the limit")]
    TooLarge(usize),
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// Reads one frame's body (kind byte first), refusing one longer than
/// `max` before allocating it.
pub async fn read_body<R: AsyncRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> Result<Vec<u8>, FrameError> {
    let mut len = [0u8; 4];
    match reader.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(FrameError::Closed),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(FrameError::TooLarge(len));
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).await?;
    Ok(body)
}

/// The blocking twin of [`read_body`]; an empty frame (no kind) is an error.
pub fn read_body_blocking(reader: &mut impl Read, max: usize) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    reader.read_exact(&mut len)?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max || len == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad frame length {len}"),
        ));
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body)?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn frames_never_panic_and_round_trip(
            garbage in proptest::collection::vec(any::<u8>(), 0..1024),
            kind in any::<u8>(),
            payload in proptest::collection::vec(any::<u8>(), 0..4096),
        ) {
            let _ = read_body_blocking(&mut garbage.as_slice(), 1 << 20);
            let wire = frame(kind, &payload);
            let body = read_body_blocking(&mut wire.as_slice(), 1 << 20).unwrap();
            prop_assert_eq!(body[0], kind);
            prop_assert_eq!(&body[1..], &payload[..]);
        }
    }

    #[test]
    fn an_oversized_frame_is_refused_before_allocating() {
        let head = u32::MAX.to_be_bytes();
        let err = read_body_blocking(&mut head.as_slice(), 16 << 20).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let empty = 0u32.to_be_bytes();
        assert!(read_body_blocking(&mut empty.as_slice(), 16).is_err());
    }

    #[tokio::test]
    async fn oversized_and_truncated_frames_are_errors() {
        let mut huge: &[u8] = &(1025u32).to_be_bytes();
        assert!(matches!(
            read_body(&mut huge, 1024).await,
            Err(FrameError::TooLarge(1025))
        ));
        let mut empty: &[u8] = &[];
        assert!(matches!(
            read_body(&mut empty, 1024).await,
            Err(FrameError::Closed)
        ));
        let mut short: &[u8] = &[0, 0, 0, 9, 0, b'{'];
        assert!(read_body(&mut short, 1024).await.is_err());
    }
}
