//! The daemon's wire protocol: [`crate::framing`] frames over a Unix socket
//! (or an SSH channel to `flightdeck proxy`). Control messages are JSON (small, debuggable, and a
//! decoding error is just an error); task output and screen snapshots are
//! binary, because they are most of the traffic.
//!
//! The first frame each way is a [`Hello`]; its shape never changes, so a
//! client and daemon of different versions can always tell each other so.

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::framing::{FrameError, frame as framed};

use crate::host::PtySize;
use crate::protocol::task::TaskId;
use crate::protocol::{Command, Event};
use crate::term::ScreenFrame;

/// Bumped whenever a message changes shape.
pub const PROTOCOL: u32 = 3;
/// Frames above this are refused (a snapshot of 10,000 wide lines fits).
pub const MAX_FRAME: usize = 64 << 20;

const KIND_JSON: u8 = 0;
const KIND_SCREEN: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol: u32,
    pub version: String,
}

impl Hello {
    pub fn ours() -> Self {
        Hello {
            protocol: PROTOCOL,
            version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

/// Client → daemon.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ClientMsg {
    Hello(Hello),
    Command(Box<Command>),
    /// Send me frames of these tasks' screens as they change (replaces the
    /// previous set); each is drawn at once.
    Watch(Vec<Watch>),
}

/// One watched pane: which task, how far scrolled back, and its size (used
/// to rebuild the screen of an ended task from its log).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watch {
    pub id: TaskId,
    pub scroll: usize,
    pub size: PtySize,
}

/// Daemon → client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ServerMsg {
    Hello(Hello),
    Event(Event),
    /// The daemon refuses the connection (version mismatch, other user).
    Refused(String),
}

/// One decoded frame.
#[derive(Debug)]
pub enum Frame<T> {
    Message(T),
    /// A rendered view of a watched task's screen.
    Screen {
        id: TaskId,
        frame: ScreenFrame,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("connection closed")]
    Closed,
    #[error("frame of {0} bytes exceeds the limit")]
    TooLarge(usize),
    #[error("malformed frame: {0}")]
    Malformed(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl From<FrameError> for ProtocolError {
    fn from(e: FrameError) -> Self {
        match e {
            FrameError::Closed => ProtocolError::Closed,
            FrameError::TooLarge(n) => ProtocolError::TooLarge(n),
            FrameError::Io(e) => ProtocolError::Io(e),
        }
    }
}

pub fn encode<T: Serialize>(frame: &Frame<T>) -> Vec<u8> {
    match frame {
        Frame::Message(msg) => framed(
            KIND_JSON,
            &serde_json::to_vec(msg).expect("messages serialize"),
        ),
        Frame::Screen { id, frame } => {
            let mut payload = id.to_be_bytes().to_vec();
            payload.extend_from_slice(&crate::term::frame::encode(frame));
            framed(KIND_SCREEN, &payload)
        }
    }
}

/// Decodes one frame body (without its length prefix). Never panics.
pub fn decode<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<Frame<T>, ProtocolError> {
    let malformed = |what: &str| ProtocolError::Malformed(what.to_string());
    let (&kind, rest) = body.split_first().ok_or_else(|| malformed("empty frame"))?;
    let task_id = |rest: &[u8]| -> Result<TaskId, ProtocolError> {
        let id: [u8; 8] = rest
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| malformed("short task id"))?;
        Ok(u64::from_be_bytes(id))
    };
    match kind {
        KIND_JSON => serde_json::from_slice(rest)
            .map(Frame::Message)
            .map_err(|e| ProtocolError::Malformed(e.to_string())),
        KIND_SCREEN => Ok(Frame::Screen {
            id: task_id(rest)?,
            frame: crate::term::frame::decode(&rest[8..])
                .ok_or_else(|| malformed("bad screen frame"))?,
        }),
        other => Err(ProtocolError::Malformed(format!(
            "unknown frame kind {other}"
        ))),
    }
}

pub async fn read_frame<T, R>(reader: &mut R) -> Result<Frame<T>, ProtocolError>
where
    T: for<'de> Deserialize<'de>,
    R: AsyncRead + Unpin,
{
    let body = crate::framing::read_body(reader, MAX_FRAME).await?;
    decode(&body)
}

pub async fn write_frame<T, W>(writer: &mut W, frame: &Frame<T>) -> Result<(), ProtocolError>
where
    T: Serialize,
    W: AsyncWrite + Unpin,
{
    writer.write_all(&encode(frame)).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(frame: Frame<ServerMsg>) -> Frame<ServerMsg> {
        let bytes = encode(&frame);
        assert_eq!(
            u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize,
            bytes.len() - 4
        );
        decode(&bytes[4..]).unwrap()
    }

    #[test]
    fn frames_round_trip() {
        let mut emulator = crate::term::new_emulator(PtySize { rows: 3, cols: 10 }, 10);
        emulator.feed(b"\x1b[31mhi");
        let frame = emulator.frame(0);
        let screen = Frame::<ServerMsg>::Screen {
            id: u64::MAX,
            frame: frame.clone(),
        };
        match round_trip(screen) {
            Frame::Screen { id, frame: got } => assert_eq!((id, got), (u64::MAX, frame)),
            other => panic!("{other:?}"),
        }
        match round_trip(Frame::Message(ServerMsg::Hello(Hello::ours()))) {
            Frame::Message(ServerMsg::Hello(h)) => assert_eq!(h.protocol, PROTOCOL),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hello_shape_is_stable() {
        let json = serde_json::to_string(&ClientMsg::Hello(Hello {
            protocol: 1,
            version: "0.1.0".into(),
        }))
        .unwrap();
        assert_eq!(json, r#"{"Hello":{"protocol":1,"version":"0.1.0"}}"#);
    }

    /// Arbitrary bytes never panic the decoder (a deterministic fuzz loop).
    #[test]
    fn decoding_garbage_never_panics() {
        let mut x: u64 = 0x9e3779b97f4a7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..20_000 {
            let len = (next() % 64) as usize;
            let mut body: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if let Some(kind) = body.first_mut() {
                *kind %= 3; // hit every kind, and one unknown
            }
            let _ = decode::<ClientMsg>(&body);
            let _ = decode::<ServerMsg>(&body);
        }
        // Valid JSON of the wrong shape is an error too.
        let mut body = vec![KIND_JSON];
        body.extend_from_slice(br#"{"Command":{"Stop":{"id":"seven"}}}"#);
        assert!(decode::<ClientMsg>(&body).is_err());
    }

    #[tokio::test]
    async fn oversized_and_truncated_frames_are_errors() {
        let mut huge: &[u8] = &(MAX_FRAME as u32 + 1).to_be_bytes();
        assert!(matches!(
            read_frame::<ClientMsg, _>(&mut huge).await,
            Err(ProtocolError::TooLarge(_))
        ));
        let mut empty: &[u8] = &[];
        assert!(matches!(
            read_frame::<ClientMsg, _>(&mut empty).await,
            Err(ProtocolError::Closed)
        ));
        let mut short: &[u8] = &[0, 0, 0, 9, 0, b'{'];
        assert!(read_frame::<ClientMsg, _>(&mut short).await.is_err());
    }
}
