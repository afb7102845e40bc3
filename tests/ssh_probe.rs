//! The agent probe over SSH against real OpenSSH servers: one exec per host
//! finds agents on the remote user's PATH (set up by their login shell),
//! with versions and ACP support; a hung `--version` costs only its own
//! timeout; several hosts are probed at once, and a dead one does not slow
//! the others down.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::fake_agent_bin;
use common::sshd::{ClientHome, ScriptedPrompter, Sshd, TestUser, block_on};
use flightdeck::catalog::{AgentEntry, Catalog};
use flightdeck::host::ssh::{SshHost, SshTarget};
use flightdeck::probe::probe_host;

const PER_AGENT: Duration = Duration::from_secs(2);

fn catalog() -> Catalog {
    let mut catalog = Catalog::default();
    let agent = |id: &str, binary: &str| AgentEntry {
        id: id.into(),
        binary: Some(binary.into()),
        acp_check: Some(vec!["acp".into(), "--help".into()]),
        acp_check_contains: Some("Agent Client Protocol".into()),
        ..Default::default()
    };
    for (id, binary) in [
        ("fake", "fake-agent"),
        ("hung", "hung-agent"),
        ("absent", "fd-absent-agent"),
    ] {
        catalog.merge(agent(id, binary)).unwrap();
    }
    catalog
}

/// A user whose login shell is chatty and whose ~/.local/bin holds the fake
/// agent and one whose `--version` hangs.
fn agent_user() -> TestUser {
    let user = TestUser::create("/bin/sh");
    let fake = std::fs::read(fake_agent_bin()).unwrap();
    user.install(".local/bin/fake-agent", &fake, 0o755);
    user.install(
        ".local/bin/hung-agent",
        b"#!/bin/sh\nFAKE_AGENT_HANG_VERSION=1 exec \"$HOME/.local/bin/fake-agent\" \"$@\"\n",
        0o755,
    );
    // Chatter a login shell prints must not confuse the probe.
    user.install(
        ".profile",
        b"echo 'Welcome!'; echo 'profile noise' >&2\n",
        0o644,
    );
    user
}

fn ssh_host(client: &ClientHome, target: SshTarget) -> Arc<SshHost> {
    Arc::new(SshHost::new(
        target,
        Vec::new(),
        client.context(ScriptedPrompter::refusing(), None),
    ))
}

#[test]
fn probe_finds_remote_agents_in_one_exec_and_times_out_a_hung_one() {
    let sshd = Sshd::start();
    let client = ClientHome::new();
    client.authorized_key("id_ed25519", None, &sshd);
    client.trust(&sshd);
    let user = agent_user();
    let host = ssh_host(&client, user.target(&sshd, "devbox"));

    let started = Instant::now();
    let probe = block_on(probe_host(host.as_ref(), &catalog(), PER_AGENT));
    let took = started.elapsed();
    assert_eq!(probe.error, None, "{probe:?}");
    assert_eq!(probe.host, "devbox");
    let fake = probe.agent("fake").unwrap();
    let expected = user.home.join(".local/bin/fake-agent");
    assert_eq!(fake.path.as_deref(), expected.to_str());
    assert_eq!(fake.version.as_deref(), Some("1.2.3"));
    assert_eq!(fake.acp, Some(true));
    assert_eq!(fake.error, None);
    let hung = probe.agent("hung").unwrap();
    assert!(hung.found);
    assert_eq!(hung.error.as_deref(), Some("--version timed out"));
    assert!(!probe.agent("absent").unwrap().found);
    // The hung agent costs its own timeout, once, in parallel with the rest.
    assert!(took >= PER_AGENT && took < PER_AGENT * 3, "{took:?}");
    // One exec per probe.
    assert_eq!(
        sshd.log().matches("Starting session: command").count(),
        1,
        "{}",
        sshd.log()
    );
}

#[test]
fn several_hosts_are_probed_concurrently_and_a_dead_one_fails_alone() {
    let servers: Vec<Sshd> = (0..3).map(|_| Sshd::start()).collect();
    let client = ClientHome::new();
    let key = client.authorized_key("id_ed25519", None, &servers[0]);
    for sshd in &servers {
        sshd.authorize(&common::sshd::public_of(&key));
        client.trust(sshd);
    }
    let user = agent_user();
    let mut hosts: Vec<Arc<SshHost>> = servers
        .iter()
        .enumerate()
        .map(|(i, sshd)| ssh_host(&client, user.target(sshd, &format!("box{i}"))))
        .collect();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut dead = SshTarget::new("dead", "127.0.0.1");
    dead.port = closed;
    hosts.push(ssh_host(&client, dead));

    let catalog = catalog();
    let started = Instant::now();
    let probes = block_on(futures::future::join_all(
        hosts
            .iter()
            .map(|h| probe_host(h.as_ref(), &catalog, PER_AGENT)),
    ));
    let took = started.elapsed();
    // Each live probe waits for the hung agent; together they take no longer.
    assert!(took < PER_AGENT * 3, "{took:?}");
    for probe in &probes[..3] {
        assert_eq!(probe.error, None, "{probe:?}");
        assert_eq!(
            probe.agent("fake").unwrap().version.as_deref(),
            Some("1.2.3")
        );
    }
    let dead = &probes[3];
    assert_eq!(dead.host, "dead");
    let error = dead.error.as_deref().unwrap_or_default();
    assert!(error.contains("refused"), "{error}");
    assert!(dead.duration_ms < 1000, "{dead:?}");
}
