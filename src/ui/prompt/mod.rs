//! Questions from the daemon only a person can answer (trust a host key,
//! type a key's passphrase): kept in order, answered oldest first.

pub mod view;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Effect;
use super::state::State;
use crate::protocol::{Answer, Command, Event, Question, Secret};

/// A question from the daemon, with what is typed.
pub struct Prompt {
    pub id: u64,
    pub question: Question,
    /// The passphrase being typed (never drawn, only counted).
    pub input: String,
}

/// Keys go to the oldest open question first. True when it took the key.
pub fn on_key(state: &mut State, key: KeyEvent, effects: &mut Vec<Effect>) -> bool {
    let Some(prompt) = state.prompts.first_mut() else {
        return false;
    };
    let answer = match (&prompt.question, key.code) {
        (Question::TrustHostKey { .. }, KeyCode::Char('y' | 'Y')) => Some(Answer::Yes),
        (Question::TrustHostKey { .. }, KeyCode::Char('n' | 'N') | KeyCode::Esc) => {
            Some(Answer::No)
        }
        (Question::Passphrase { .. }, KeyCode::Enter) => Some(Answer::Passphrase(Secret(
            std::mem::take(&mut prompt.input),
        ))),
        (Question::Passphrase { .. }, KeyCode::Esc) => Some(Answer::No),
        (Question::Passphrase { .. }, KeyCode::Backspace) => {
            prompt.input.pop();
            None
        }
        (Question::Passphrase { .. }, KeyCode::Char(c))
            if !key.modifiers.contains(KeyModifiers::CONTROL) =>
        {
            prompt.input.push(c);
            None
        }
        _ => None,
    };
    if let Some(answer) = answer {
        let id = prompt.id;
        state.prompts.remove(0);
        effects.push(Effect::Send(Command::Answer { id, answer }));
    }
    true
}

/// A question asked, or closed (answered elsewhere, or timed out).
pub fn on_event(state: &mut State, event: Event) {
    match event {
        Event::Prompt { id, question } if !state.prompts.iter().any(|p| p.id == id) => {
            state.prompts.push(Prompt {
                id,
                question,
                input: String::new(),
            });
        }
        Event::PromptClosed { id } => state.prompts.retain(|p| p.id != id),
        _ => {}
    }
}
