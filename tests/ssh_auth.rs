//! Connecting to a real OpenSSH server: authentication (key files, ssh-agent,
//! encrypted keys), host key checking (unknown, trusted, changed), host
//! definitions from ~/.ssh/config, ProxyJump, and the errors users see.

mod common;

use std::fs;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::sshd::{
    ClientHome, Fixture, ScriptedPrompter, SshAgent, Sshd, block_on, keygen, public_of,
};
use flightdeck::host::ssh::{ConfigError, ConnState, SshDirectory, SshError, SshHost, SshTarget};
use flightdeck::host::{Host, RunSpec};

const T: Duration = Duration::from_secs(20);

fn echo(host: &SshHost) -> Result<String, String> {
    block_on(host.run(RunSpec::new(["echo", "hello"], T)))
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .map_err(|e| e.to_string())
}

fn connect_error(host: &SshHost) -> SshError {
    block_on(host.connect()).expect_err("connecting should fail")
}

#[test]
fn key_file_login_runs_commands_and_reports_connected() {
    let f = Fixture::new();
    assert_eq!(*f.host.state().borrow(), ConnState::Disconnected);
    assert_eq!(echo(&f.host).unwrap(), "hello\n");
    assert!(matches!(
        *f.host.state().borrow(),
        ConnState::Connected { .. }
    ));
    // The same connection serves the next command.
    assert_eq!(echo(&f.host).unwrap(), "hello\n");
    assert_eq!(f.sshd.log().matches("Accepted publickey").count(), 1);
}

#[test]
fn agent_keys_are_used_first() {
    let sshd = Sshd::start();
    let client = ClientHome::new();
    client.trust(&sshd);
    // The key lives outside ~/.ssh: only the agent can offer it.
    let elsewhere = tempfile::tempdir().unwrap();
    let key = keygen(&elsewhere.path().join("agent_key"), None);
    sshd.authorize(&public_of(&key));
    let agent = SshAgent::start();
    agent.add(&key);

    let with_agent = SshHost::new(
        sshd.target("box", "root"),
        Vec::new(),
        client.context(ScriptedPrompter::refusing(), Some(&agent.sock)),
    );
    assert_eq!(echo(&with_agent).unwrap(), "hello\n");

    let without = client.host(sshd.target("box", "root"));
    let e = connect_error(&without);
    assert!(matches!(e, SshError::NoUsableKey { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("root@127.0.0.1") && text.contains("SSH_AUTH_SOCK"),
        "{text}"
    );
}

#[test]
fn identities_only_offers_just_the_configured_keys_from_the_agent() {
    let sshd = Sshd::start();
    let client = ClientHome::new();
    client.trust(&sshd);
    let keys = tempfile::tempdir().unwrap();
    let good = keygen(&keys.path().join("good"), None);
    let other = keygen(&keys.path().join("other"), None);
    sshd.authorize(&public_of(&good));
    let agent = SshAgent::start();
    agent.add(&good);
    agent.add(&other);

    let mut target = sshd.target("box", "root");
    target.identity_files = vec![other.clone()];
    target.identities_only = true;
    let host = |target: SshTarget| {
        SshHost::new(
            target,
            Vec::new(),
            client.context(ScriptedPrompter::refusing(), Some(&agent.sock)),
        )
    };
    let e = connect_error(&host(target.clone()));
    assert!(matches!(e, SshError::AuthRejected { .. }), "{e}");
    assert_eq!(e.to_string().matches("agent key").count(), 1, "{e}");

    target.identities_only = false;
    assert_eq!(echo(&host(target)).unwrap(), "hello\n");
}

#[test]
fn encrypted_key_asks_for_its_passphrase_and_remembers_the_key() {
    let sshd = Sshd::start();
    let client = ClientHome::new();
    client.trust(&sshd);
    let key = client.authorized_key("id_ed25519", Some("s3cret pass"), &sshd);
    let prompter = ScriptedPrompter::with_passphrases(&["wrong", "s3cret pass"]);
    let host = SshHost::new(
        sshd.target("box", "root"),
        Vec::new(),
        client.context(prompter.clone(), None),
    );
    assert_eq!(echo(&host).unwrap(), "hello\n");
    let asked = prompter.passphrase_questions();
    assert_eq!(asked.iter().map(|q| q.attempt).collect::<Vec<_>>(), [1, 2]);
    assert!(asked.iter().all(|q| q.key == key && q.alias == "box"));

    // A reconnect does not ask again.
    block_on(host.disconnect());
    assert_eq!(echo(&host).unwrap(), "hello\n");
    assert_eq!(prompter.passphrase_questions().len(), 2);
}

#[test]
fn wrong_passphrases_end_in_a_clear_error() {
    let sshd = Sshd::start();
    let client = ClientHome::new();
    client.trust(&sshd);
    let key = client.authorized_key("id_ed25519", Some("right"), &sshd);
    let prompter = ScriptedPrompter::with_passphrases(&["a", "b", "c", "right"]);
    let host = SshHost::new(
        sshd.target("box", "root"),
        Vec::new(),
        client.context(prompter.clone(), None),
    );
    let e = connect_error(&host);
    assert!(matches!(e, SshError::WrongPassphrase { .. }), "{e}");
    assert_eq!(
        e.to_string(),
        format!("box: wrong passphrase for {}", key.display())
    );
    assert_eq!(prompter.passphrase_questions().len(), 3);
    // Automatic reconnects do not pester the user; an explicit connect asks again.
    assert!(echo(&host).unwrap_err().contains("wrong passphrase"));
    assert_eq!(prompter.passphrase_questions().len(), 3);
    block_on(host.connect()).unwrap();
}

#[test]
fn unknown_host_is_asked_about_recorded_and_then_known() {
    let sshd = Sshd::start();
    let client = ClientHome::new();
    client.authorized_key("id_ed25519", None, &sshd);
    let prompter = ScriptedPrompter::trusting();
    let host = SshHost::new(
        sshd.target("box", "root"),
        Vec::new(),
        client.context(prompter.clone(), None),
    );
    assert_eq!(echo(&host).unwrap(), "hello\n");
    let asked = prompter.host_questions();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].host, format!("[127.0.0.1]:{}", sshd.port));
    assert_eq!(asked[0].fingerprint, sshd.fingerprint());
    assert_eq!(asked[0].key_type, "ssh-ed25519");
    assert_eq!(asked[0].known_hosts_file, client.known_hosts());
    let recorded = fs::read_to_string(client.known_hosts()).unwrap();
    assert_eq!(recorded, format!("{}\n", sshd.known_hosts_line()));
    // OpenSSH itself finds the line we wrote.
    let found = common::sshd::run_ok(
        "ssh-keygen",
        &[
            "-F",
            &format!("[127.0.0.1]:{}", sshd.port),
            "-f",
            client.known_hosts().to_str().unwrap(),
        ],
    );
    assert!(found.contains("ssh-ed25519"), "{found}");

    let second = ScriptedPrompter::refusing();
    let again = SshHost::new(
        sshd.target("box", "root"),
        Vec::new(),
        client.context(second.clone(), None),
    );
    assert_eq!(echo(&again).unwrap(), "hello\n");
    assert!(second.host_questions().is_empty());
}

#[test]
fn refusing_an_unknown_host_key_is_a_clear_error() {
    let sshd = Sshd::start();
    let client = ClientHome::new();
    client.authorized_key("id_ed25519", None, &sshd);
    let host = client.host(sshd.target("box", "root"));
    let e = connect_error(&host);
    assert!(matches!(e, SshError::HostKeyNotTrusted { .. }), "{e}");
    assert!(e.to_string().contains(&sshd.fingerprint()), "{e}");
    assert!(!client.known_hosts().exists());
    assert!(matches!(*host.state().borrow(), ConnState::Failed(_)));
}

#[test]
fn changed_host_key_is_refused_naming_the_known_hosts_line() {
    let sshd = Sshd::start();
    let client = ClientHome::new();
    client.authorized_key("id_ed25519", None, &sshd);
    let impostor = tempfile::tempdir().unwrap();
    let old = keygen(&impostor.path().join("old_host_key"), None);
    let old_key = fs::read_to_string(public_of(&old)).unwrap();
    let old_key: Vec<&str> = old_key.split_whitespace().take(2).collect();
    fs::write(
        client.known_hosts(),
        format!(
            "# hosts\n\nother.example {k}\n[127.0.0.1]:{port} {k}\n",
            k = old_key.join(" "),
            port = sshd.port
        ),
    )
    .unwrap();
    let prompter = ScriptedPrompter::trusting();
    let host = SshHost::new(
        sshd.target("box", "root"),
        Vec::new(),
        client.context(prompter.clone(), None),
    );
    let e = connect_error(&host);
    assert!(matches!(e, SshError::HostKeyChanged(_)), "{e}");
    let text = e.to_string();
    let place = format!("{}:4", client.known_hosts().display());
    assert!(text.contains(&place), "{text}");
    assert!(
        text.contains("HAS CHANGED") && text.contains(&sshd.fingerprint()),
        "{text}"
    );
    assert!(
        prompter.host_questions().is_empty(),
        "never offered to trust it"
    );
}

#[test]
fn unknown_alias_is_a_clear_error() {
    let client = ClientHome::new();
    client.write_ssh_config("Host web\n  HostName 10.1.2.3\n");
    let directory = SshDirectory::load(&client.env(None), Vec::new()).unwrap();
    assert_eq!(directory.aliases(), ["web"]);
    let context = client.context(ScriptedPrompter::refusing(), None);
    let e = SshHost::from_directory(&directory, "wbe", context)
        .err()
        .unwrap();
    assert_eq!(
        e,
        ConfigError::UnknownAlias {
            alias: "wbe".into()
        }
    );
    assert!(e.to_string().contains("unknown host alias \"wbe\""), "{e}");
}

#[test]
fn closed_port_is_connection_refused_at_once() {
    let client = ClientHome::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut target = SshTarget::new("gone", "127.0.0.1");
    target.port = port;
    let host = client.host(target);
    let started = Instant::now();
    let e = connect_error(&host);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(matches!(e, SshError::Connect { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.starts_with("gone: cannot connect to 127.0.0.1:") && text.contains("refused"),
        "{text}"
    );
    let failed = host.state().borrow().clone();
    assert_eq!(failed, ConnState::Failed(text));
}

#[test]
fn unresolvable_host_name_is_a_clear_error() {
    let client = ClientHome::new();
    let host = client.host(SshTarget::new("typo", "no-such-host.invalid"));
    let e = connect_error(&host);
    assert!(matches!(e, SshError::Connect { .. }), "{e}");
    assert!(e.to_string().contains("no-such-host.invalid:22"), "{e}");
}

#[test]
fn wrong_user_is_refused_naming_user_and_host() {
    let f = Fixture::new();
    let host = f.client.host(f.sshd.target("box", "nosuchuser"));
    let e = connect_error(&host);
    assert!(matches!(e, SshError::AuthRejected { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("nosuchuser@127.0.0.1") && text.contains("wrong user"),
        "{text}"
    );
}

#[test]
fn no_usable_key_names_the_files_tried() {
    let sshd = Sshd::start();
    let client = ClientHome::new();
    client.trust(&sshd);
    let e = connect_error(&client.host(sshd.target("box", "root")));
    assert!(matches!(e, SshError::NoUsableKey { .. }), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("root@127.0.0.1") && text.contains("id_ed25519"),
        "{text}"
    );
}

#[test]
fn ssh_config_alias_with_its_own_key_and_known_hosts_file() {
    let sshd = Sshd::start();
    let client = ClientHome::new();
    client.authorized_key("work_key", None, &sshd);
    fs::write(
        client.ssh_dir().join("known_hosts_work"),
        format!("{}\n", sshd.known_hosts_line()),
    )
    .unwrap();
    client.write_ssh_config(&format!(
        "Host devbox\n  HostName 127.0.0.1\n  Port {}\n  User root\n  IdentityFile ~/.ssh/work_key\n  \
         UserKnownHostsFile ~/.ssh/known_hosts_work\n",
        sshd.port
    ));
    let directory = SshDirectory::load(&client.env(None), Vec::new()).unwrap();
    let context = client.context(ScriptedPrompter::refusing(), None);
    let host = SshHost::from_directory(&directory, "devbox", context).unwrap();
    assert_eq!(host.name(), "devbox");
    assert_eq!(echo(&host).unwrap(), "hello\n");
}

#[test]
fn proxy_jump_tunnels_through_the_jump_host_and_checks_both_keys() {
    let jump = Sshd::start();
    let inner = Sshd::start();
    let client = ClientHome::new();
    let key = client.authorized_key("id_ed25519", None, &jump);
    inner.authorize(&public_of(&key));
    client.trust(&jump);
    client.write_ssh_config(&format!(
        "Host bastion\n  HostName 127.0.0.1\n  Port {}\n  User root\n\
         Host inner\n  HostName 127.0.0.1\n  Port {}\n  User root\n  ProxyJump bastion\n",
        jump.port, inner.port
    ));
    let directory = SshDirectory::load(&client.env(None), Vec::new()).unwrap();
    let prompter = ScriptedPrompter::trusting();
    let host = SshHost::from_directory(
        &directory,
        "inner",
        client.context(prompter.clone() as Arc<_>, None),
    )
    .unwrap();
    assert_eq!(echo(&host).unwrap(), "hello\n");
    // Only the inner host was unknown, and it was asked about under its own name.
    let asked = prompter.host_questions();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert_eq!(asked[0].host, format!("[127.0.0.1]:{}", inner.port));
    assert_eq!(asked[0].fingerprint, inner.fingerprint());
    // The jump host logged the login that carried the tunnel.
    assert!(jump.log().contains("Accepted publickey"), "{}", jump.log());
    assert!(
        inner.log().contains("Accepted publickey"),
        "{}",
        inner.log()
    );
}
