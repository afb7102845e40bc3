//! The labelled corpus of real agent screens in `tests/corpus/` (shared by
//! the screen-rule test and the attention benchmark).

use flightdeck::attention::ActivityState;
use flightdeck::catalog::Catalog;

pub struct Labelled {
    pub file: String,
    pub agent: String,
    pub want: Option<ActivityState>,
    pub rows: Vec<String>,
}

pub fn load() -> Vec<Labelled> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
    let labels = std::fs::read_to_string(format!("{dir}/labels.txt")).unwrap();
    labels
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let want = match fields[2] {
                "waiting" => Some(ActivityState::Waiting),
                "working" => Some(ActivityState::Working),
                "none" => None,
                other => panic!("labels.txt: unknown label {other:?}"),
            };
            let text = std::fs::read_to_string(format!("{dir}/{}.txt", fields[0])).unwrap();
            Labelled {
                file: fields[0].to_string(),
                agent: fields[1].to_string(),
                want,
                rows: text.lines().map(str::to_string).collect(),
            }
        })
        .collect()
}

/// The screens the rules read other than labelled, as `file: want …, got …`.
pub fn misread(catalog: &Catalog, corpus: &[Labelled]) -> Vec<String> {
    corpus
        .iter()
        .filter_map(|s| {
            let got = catalog.screen_rules(&s.agent).classify(&s.rows);
            (got.as_ref().map(|(state, _)| *state) != s.want)
                .then(|| format!("{}: want {:?}, got {got:?}", s.file, s.want))
        })
        .collect()
}
