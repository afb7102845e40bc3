//! Properties over arbitrary input: nothing that reads bytes from outside
//! — the socket protocol, a screen frame, the config file, an agent's
//! output, git's diff output — panics on garbage, and what is well formed
//! round-trips.

use std::path::Path;

use flightdeck::config::Config;
use flightdeck::git::parse_unified_diff;
use flightdeck::host::PtySize;
use flightdeck::protocol::wire::{ClientMsg, Frame, ServerMsg, decode, encode};
use flightdeck::term::new_emulator;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn protocol_frames_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = decode::<ClientMsg>(&body);
        let _ = decode::<ServerMsg>(&body);
    }

    #[test]
    fn screen_frames_of_garbage_never_panic(id in any::<u64>(), tail in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let mut body = vec![1u8];
        body.extend_from_slice(&id.to_be_bytes());
        body.extend_from_slice(&tail);
        let _ = decode::<ServerMsg>(&body);
    }

    #[test]
    fn real_screens_round_trip(text in proptest::collection::vec(any::<u8>(), 0..4096), rows in 1u16..60, cols in 1u16..200) {
        let mut emulator = new_emulator(PtySize { rows, cols }, 100);
        emulator.feed(&text);
        let frame = emulator.frame(0);
        let wire = encode::<ServerMsg>(&Frame::Screen { id: 7, frame: frame.clone() });
        match decode::<ServerMsg>(&wire[4..]) {
            Ok(Frame::Screen { id, frame: back }) => {
                prop_assert_eq!(id, 7);
                prop_assert_eq!(back, frame);
            }
            other => prop_assert!(false, "did not round-trip: {:?}", other.is_ok()),
        }
    }

    #[test]
    fn the_emulator_takes_any_output_and_any_resize(
        chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..512), 0..8),
        sizes in proptest::collection::vec((0u16..300, 0u16..300), 0..4),
    ) {
        let mut emulator = new_emulator(PtySize { rows: 24, cols: 80 }, 50);
        for (chunk, size) in chunks.iter().zip(sizes.iter().chain(std::iter::repeat(&(24, 80)))) {
            emulator.feed(chunk);
            emulator.resize(PtySize { rows: size.0, cols: size.1 });
            let _ = emulator.take_replies();
            let _ = emulator.frame(5);
        }
    }

    #[test]
    fn config_errors_point_into_the_file(text in "[\\[\\]a-z_=\"0-9 .\\n{}]{0,300}") {
        if let Err(e) = Config::parse(Path::new("/cfg/config.toml"), &text) {
            prop_assert!(e.line <= text.lines().count() + 1, "line {} of {}", e.line, text.lines().count());
        }
    }

    #[test]
    fn config_of_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let _ = Config::parse(Path::new("/cfg/config.toml"), &String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn diff_parsing_never_panics(text in "(diff --git a/x b/x\n|@@ -[0-9,]* \\+[0-9,]* @@.*\n|[-+ ].*\n|\\\\ No newline.*\n|index [0-9a-f.]*\n|--- .*\n|\\+\\+\\+ .*\n|Binary files.*\n|rename (from|to) .*\n|[a-z ]*\n){0,40}") {
        let _ = parse_unified_diff(&text);
    }
}
