//! The screen rules against real first screens of the agent CLIs
//! (`tests/corpus/labels.txt` says what each must read as).

#[path = "common/corpus.rs"]
mod corpus;

use flightdeck::catalog::Catalog;

#[test]
fn real_first_screens_read_as_labelled() {
    let screens = corpus::load();
    assert!(screens.len() >= 11);
    let wrong = corpus::misread(&Catalog::builtin(), &screens);
    assert!(
        wrong.is_empty(),
        "{} of {} misread:\n{}",
        wrong.len(),
        screens.len(),
        wrong.join("\n")
    );
}
