//! The hosts' part of `update`: the host list and its agent matrix, adding
//! a host, installing an agent, and the questions only a person can answer
//! (trust a new host key, type a key's passphrase).

use super::action::Effect;
use super::state::State;
use crate::protocol::{Command, Event, HostState, Level};

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
        _ => {}
    }
}
