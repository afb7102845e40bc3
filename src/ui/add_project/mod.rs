//! The add-project dialog: type a directory (Tab completes it, `~/` is the
//! home directory); Enter adds it to the config as a project named after
//! the directory.

pub mod view;

use std::path::{Path, PathBuf};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::config::{Project, expand_home};

/// What is typed, the candidates the last Tab found, and why the last
/// Enter was refused.
#[derive(Debug, Default)]
pub struct AddProject {
    pub input: String,
    pub candidates: Vec<String>,
    pub error: Option<String>,
}

/// What a key did to the dialog.
pub enum Outcome {
    Continue,
    Cancel,
    Save(Project),
}

impl AddProject {
    /// Starts at `dir` (the directory flightdeck runs in, usually).
    pub fn at(dir: &Path) -> Self {
        let mut input = dir.display().to_string();
        if !input.ends_with('/') {
            input.push('/');
        }
        AddProject {
            input,
            ..Default::default()
        }
    }

    /// `taken`: the names of the projects there are, which a new one may
    /// not reuse.
    pub fn on_key(&mut self, key: KeyEvent, taken: &[String]) -> Outcome {
        self.error = None;
        match key.code {
            KeyCode::Esc => return Outcome::Cancel,
            KeyCode::Enter => match project_at(&self.input, taken) {
                Ok(project) => return Outcome::Save(project),
                Err(e) => self.error = Some(e),
            },
            KeyCode::Tab => self.complete(),
            KeyCode::Backspace => {
                self.input.pop();
                self.candidates.clear();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                self.input.push(c);
                self.candidates.clear();
            }
            _ => {}
        }
        Outcome::Continue
    }

    /// Completes the last path component to the directories it can be:
    /// all of one, else as far as they agree (and lists them).
    fn complete(&mut self) {
        let (dir, prefix) = match self.input.rfind('/') {
            Some(i) => (&self.input[..=i], &self.input[i + 1..]),
            None => ("./", self.input.as_str()),
        };
        let mut names: Vec<String> = std::fs::read_dir(expand_home(dir))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.starts_with(prefix) && (prefix.starts_with('.') || !n.starts_with('.')))
            .collect();
        names.sort();
        let Some(first) = names.first() else {
            self.error = Some(format!("no directory here starts with {prefix:?}"));
            return;
        };
        let common = names.iter().fold(first.clone(), |common, n| {
            common
                .chars()
                .zip(n.chars())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect()
        });
        let dir = dir.to_string();
        self.input = format!("{dir}{common}");
        if names.len() == 1 {
            self.input.push('/');
            self.candidates.clear();
        } else {
            self.candidates = names;
        }
    }
}

/// The project a typed path names, or why it cannot be one.
fn project_at(input: &str, taken: &[String]) -> Result<Project, String> {
    let typed = input.trim();
    if typed.is_empty() {
        return Err("type a directory".into());
    }
    let path: PathBuf = expand_home(typed.trim_end_matches('/'));
    let path = if path.as_os_str().is_empty() {
        PathBuf::from("/")
    } else {
        path
    };
    if !path.is_dir() {
        return Err(format!("{} is not a directory", path.display()));
    }
    let path = path.canonicalize().unwrap_or(path);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "root".into());
    if taken.contains(&name) {
        return Err(format!(
            "a project is already called {name:?}; rename one in the config"
        ));
    }
    Ok(Project {
        name,
        path,
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn tab_completes_directories_and_enter_adds_one() {
        let root = tempfile::tempdir().unwrap();
        for dir in ["webapp", "website", "notes"] {
            std::fs::create_dir(root.path().join(dir)).unwrap();
        }
        std::fs::write(root.path().join("web.txt"), "a file").unwrap();
        let mut dialog = AddProject::at(root.path());
        dialog.input.push_str("we");
        dialog.on_key(key(KeyCode::Tab), &[]);
        assert!(dialog.input.ends_with("/web"), "{}", dialog.input);
        assert_eq!(dialog.candidates, ["webapp", "website"]);
        dialog.on_key(key(KeyCode::Char('a')), &[]);
        dialog.on_key(key(KeyCode::Tab), &[]);
        assert!(dialog.input.ends_with("/webapp/"), "{}", dialog.input);
        match dialog.on_key(key(KeyCode::Enter), &[]) {
            Outcome::Save(project) => {
                assert_eq!(project.name, "webapp");
                assert_eq!(
                    project.path,
                    root.path().canonicalize().unwrap().join("webapp")
                );
            }
            _ => panic!("not saved"),
        }
        // A name that is taken, and a path that is no directory, are refused.
        let mut again = AddProject::at(&root.path().join("webapp"));
        assert!(matches!(
            again.on_key(key(KeyCode::Enter), &["webapp".into()]),
            Outcome::Continue
        ));
        assert!(again.error.as_deref().unwrap().contains("already called"));
        let mut file = AddProject::at(root.path());
        file.input.push_str("web.txt");
        file.on_key(key(KeyCode::Enter), &[]);
        assert!(file.error.as_deref().unwrap().contains("not a directory"));
    }
}
