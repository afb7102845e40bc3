//! The hosts' part of `update`: the host list and its agent matrix, adding
//! a host, installing an agent, and the questions only a person can answer
//! (trust a new host key, type a key's passphrase).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Effect;
use super::state::{Modal, Prompt, State};
use crate::config::HostConfig;
use crate::protocol::{Answer, Command, Event, HostState, Level, Question, Secret};

/// Probes one host (or, with `None`, this machine and every configured one).
pub fn probe(state: &mut State, host: Option<String>, effects: &mut Vec<Effect>) {
    let names: Vec<String> = match &host {
        Some(name) => vec![name.clone()],
        None => state
            .hosts
            .iter()
            .filter(|h| h.configured)
            .map(|h| h.name.clone())
            .collect(),
    };
    if names.iter().all(|n| state.probing.contains(n)) {
        return;
    }
    state.probing.extend(names);
    effects.push(Effect::Probe(host));
}

pub fn connect(state: &mut State, effects: &mut Vec<Effect>) {
    let host = state.host().to_string();
    let here = (state.hosts.iter()).any(|h| h.name == host && h.state == HostState::Local);
    if here {
        return state.notify(Level::Info, "this machine needs no connection");
    }
    effects.push(Effect::Send(Command::Connect { host: host.clone() }));
    probe(state, Some(host), effects);
}

/// `i` on a missing agent: run its install recipe on the selected host.
pub fn install(state: &mut State, effects: &mut Vec<Effect>) {
    let host = state.host().to_string();
    let rows = state.agent_rows();
    let Some(row) = rows.get(state.selected_agent) else {
        return;
    };
    let (id, name, found) = (row.agent.id.clone(), row.agent.name.clone(), row.found());
    if found {
        return state.notify(
            Level::Info,
            format!("{name} is already installed on {host}"),
        );
    }
    effects.push(Effect::Send(Command::Install { host, agent: id }));
}

pub fn add_host(state: &mut State) {
    state.modal = Some(Modal::AddHost {
        input: String::new(),
        error: None,
    });
}

/// Keys while typing a host to add. Returns the modal to keep, if any.
pub fn on_add_host_key(
    input: &mut String,
    key: KeyEvent,
    effects: &mut Vec<Effect>,
) -> Result<bool, String> {
    match key.code {
        KeyCode::Esc => return Ok(false),
        KeyCode::Enter => {
            let host = parse_host(input)?;
            effects.push(Effect::SaveHost(host));
            return Ok(false);
        }
        KeyCode::Backspace => {
            input.pop();
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => input.push(c),
        _ => {}
    }
    Ok(true)
}

/// "alias" (from ~/.ssh/config) or "[user@]host[:port]".
pub fn parse_host(input: &str) -> Result<HostConfig, String> {
    HostConfig::typed(input)
}

/// Keys go to the oldest open question first. True when it took the key.
pub fn on_prompt_key(state: &mut State, key: KeyEvent, effects: &mut Vec<Effect>) -> bool {
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

pub fn on_event(state: &mut State, event: Event) {
    match event {
        Event::Hosts(hosts) => {
            let selected = state.host().to_string();
            state.hosts = hosts;
            state.selected_host = state
                .hosts
                .iter()
                .position(|h| h.name == selected)
                .unwrap_or(0);
        }
        Event::HostState {
            name,
            state: host_state,
        } => {
            if let Some(host) = state.hosts.iter_mut().find(|h| h.name == name) {
                host.state = host_state;
            }
        }
        Event::Probe(probe) => {
            state.probing.remove(&probe.host);
            if let Some(error) = &probe.error {
                state.notify(Level::Error, format!("{}: {error}", probe.host));
            }
            state.probes.insert(probe.host.clone(), probe);
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_hosts() {
        assert_eq!(
            parse_host("build").unwrap(),
            HostConfig {
                name: "build".into(),
                ..Default::default()
            }
        );
        let full = parse_host("me@10.0.0.5:2222").unwrap();
        assert_eq!(
            (
                full.name.as_str(),
                full.hostname.as_deref(),
                full.user.as_deref(),
                full.port
            ),
            ("10.0.0.5", Some("10.0.0.5"), Some("me"), Some(2222))
        );
        assert!(parse_host("me@box:ssh").unwrap_err().contains("not a port"));
        assert!(parse_host("two words").is_err());
        assert!(parse_host("@box").is_err());
        assert!(parse_host("local").is_err());
        // The same rules as ProxyJump hops: IPv6 in brackets, no port 0.
        let v6 = parse_host("me@[::1]:2222").unwrap();
        assert_eq!((v6.name.as_str(), v6.port), ("::1", Some(2222)));
        assert!(parse_host("box:0").unwrap_err().contains("not a port"));
    }
}
