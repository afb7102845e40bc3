//! The hosts the supervisor runs tasks on: this machine, and SSH hosts made
//! on first use from flightdeck's `[[host]]` entries and `~/.ssh/config`.
//! Their connection states are reported to clients as they change, and the
//! questions only a person can answer (trust a host key, a passphrase) are
//! asked through clients ([`DaemonPrompter`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

use crate::config::HostConfig;
use crate::host::ssh::{
    ConnState, HostKeyQuestion, PassphraseQuestion, SshConfigFile, SshContext, SshDirectory,
    SshEnv, SshHost, SshPrompter, SshTarget,
};
use crate::host::{Host, LocalHost};
use crate::protocol::{Answer, Event, HostInfo, HostState, Question};

/// A question waits this long for someone to answer it, then counts as "no".
const PROMPT_TIMEOUT: Duration = Duration::from_secs(300);

/// How a host's connection state is reported to clients.
fn host_state(state: &ConnState) -> HostState {
    match state {
        ConnState::Disconnected => HostState::Idle,
        ConnState::Connecting => HostState::Connecting,
        ConnState::Connected { rtt } => HostState::Connected {
            rtt_ms: rtt.as_millis() as u64,
        },
        ConnState::Failed(error) => HostState::Failed {
            error: error.clone(),
        },
    }
}

/// Asks clients, and waits for the first answer.
pub struct DaemonPrompter {
    events: UnboundedSender<Event>,
    /// The open questions and who waits for each answer. Announcing or
    /// closing one happens under this lock, as does a snapshot's reading of
    /// it, so a client sees each question once: in its snapshot or after.
    waiting: Mutex<BTreeMap<u64, (Question, oneshot::Sender<Answer>)>>,
    next: AtomicU64,
}

impl DaemonPrompter {
    pub fn new(events: UnboundedSender<Event>) -> Arc<Self> {
        Arc::new(DaemonPrompter {
            events,
            waiting: Mutex::default(),
            next: AtomicU64::new(1),
        })
    }

    /// Delivers a client's answer; later answers to the same question are ignored.
    pub fn answer(&self, id: u64, answer: Answer) {
        if let Some((_, waiter)) = self.waiting.lock().unwrap().remove(&id) {
            let _ = waiter.send(answer);
        }
    }

    /// Calls `f` with the open questions, none opening or closing meanwhile.
    pub fn with_open<T>(&self, f: impl FnOnce(Vec<(u64, Question)>) -> T) -> T {
        let waiting = self.waiting.lock().unwrap();
        f(waiting
            .iter()
            .map(|(id, (q, _))| (*id, q.clone()))
            .collect())
    }

    async fn ask(&self, question: Question) -> Option<Answer> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut waiting = self.waiting.lock().unwrap();
            waiting.insert(id, (question.clone(), tx));
            let _ = self.events.send(Event::Prompt { id, question });
        }
        let answer = tokio::time::timeout(PROMPT_TIMEOUT, rx)
            .await
            .ok()
            .and_then(Result::ok);
        let mut waiting = self.waiting.lock().unwrap();
        waiting.remove(&id);
        let _ = self.events.send(Event::PromptClosed { id });
        answer
    }
}

#[async_trait]
impl SshPrompter for DaemonPrompter {
    async fn trust_host_key(&self, q: &HostKeyQuestion) -> bool {
        let question = Question::TrustHostKey {
            alias: q.alias.clone(),
            host: q.host.clone(),
            key_type: q.key_type.clone(),
            fingerprint: q.fingerprint.clone(),
            known_hosts_file: q.known_hosts_file.clone(),
        };
        matches!(self.ask(question).await, Some(Answer::Yes))
    }

    async fn passphrase(&self, q: &PassphraseQuestion) -> Option<String> {
        let question = Question::Passphrase {
            alias: q.alias.clone(),
            key: q.key.clone(),
            attempt: q.attempt,
        };
        match self.ask(question).await {
            Some(Answer::Passphrase(secret)) => Some(secret.0),
            _ => None,
        }
    }
}

pub struct HostRegistry {
    local: Arc<dyn Host>,
    ssh: HashMap<String, Arc<SshHost>>,
    directory: SshDirectory,
    configured: Vec<String>,
    context: SshContext,
    events: UnboundedSender<Event>,
}

impl HostRegistry {
    /// This machine as `local`, SSH hosts reached through `context`.
    pub fn new(context: SshContext, local: LocalHost, events: UnboundedSender<Event>) -> Self {
        let file = SshConfigFile::load(&context.env).unwrap_or_else(|e| {
            tracing::warn!("~/.ssh/config: {e}");
            SshConfigFile::default()
        });
        HostRegistry {
            local: Arc::new(local),
            ssh: HashMap::new(),
            directory: SshDirectory::new(Vec::new(), file),
            configured: Vec::new(),
            context,
            events,
        }
    }

    /// A registry with only this machine (tests, and when SSH is not wanted).
    pub fn local_only(local: LocalHost, events: UnboundedSender<Event>) -> Self {
        let env = SshEnv::from_process();
        let prompter = DaemonPrompter::new(events.clone());
        let mut registry = Self::new(SshContext::new(env, prompter), local, events);
        registry.directory = SshDirectory::default();
        registry
    }

    /// Takes the `[[host]]` entries of the user's config. Hosts whose
    /// settings changed are dropped and made again on next use.
    pub fn configure(&mut self, hosts: &[HostConfig]) {
        let file = SshConfigFile::load(&self.context.env).unwrap_or_default();
        let targets: Vec<SshTarget> = hosts
            .iter()
            .map(|h| target_of(h, &file, &self.context.env))
            .collect();
        self.configured = hosts.iter().map(|h| h.name.clone()).collect();
        self.directory = SshDirectory::new(targets, file);
        let directory = &self.directory;
        self.ssh
            .retain(|name, host| directory.resolve(name).is_ok_and(|t| t == *host.target()));
        let _ = self.events.send(Event::Hosts(self.list()));
    }

    pub fn configured(&self) -> Vec<String> {
        self.configured.clone()
    }

    /// The host called `name`, made (not connected) on first use.
    pub fn get(&mut self, name: &str) -> Result<Arc<dyn Host>, String> {
        if name == self.local.name() {
            return Ok(self.local.clone());
        }
        Ok(self.ssh_host(name)? as Arc<dyn Host>)
    }

    /// This machine and every host made so far.
    pub fn in_use(&self) -> Vec<Arc<dyn Host>> {
        let ssh = self.ssh.values().map(|h| h.clone() as Arc<dyn Host>);
        std::iter::once(self.local.clone()).chain(ssh).collect()
    }

    pub fn ssh_host(&mut self, name: &str) -> Result<Arc<SshHost>, String> {
        if let Some(host) = self.ssh.get(name) {
            return Ok(host.clone());
        }
        let host = SshHost::from_directory(&self.directory, name, self.context.clone())
            .map(Arc::new)
            .map_err(|e| e.to_string())?;
        self.watch_state(name, &host);
        self.ssh.insert(name.to_string(), host.clone());
        Ok(host)
    }

    /// Reports the host's connection state to clients whenever it changes.
    fn watch_state(&self, name: &str, host: &SshHost) {
        let mut states = host.state();
        let events = self.events.clone();
        let name = name.to_string();
        tokio::spawn(async move {
            loop {
                let state = host_state(&states.borrow_and_update());
                let update = Event::HostState {
                    name: name.clone(),
                    state,
                };
                if events.send(update).is_err() || states.changed().await.is_err() {
                    break;
                }
            }
        });
    }

    /// Every host a user can pick: this machine, flightdeck's, `~/.ssh/config`'s.
    pub fn list(&self) -> Vec<HostInfo> {
        let mut hosts = vec![HostInfo {
            name: self.local.name().into(),
            destination: "this machine".into(),
            configured: true,
            state: HostState::Local,
        }];
        for alias in self.directory.aliases() {
            let destination = self
                .directory
                .resolve(&alias)
                .map(|t| t.destination(&self.context.env))
                .unwrap_or_default();
            let state = self
                .ssh
                .get(&alias)
                .map_or(HostState::Idle, |h| host_state(&h.state().borrow()));
            hosts.push(HostInfo {
                configured: self.configured.contains(&alias),
                name: alias,
                destination,
                state,
            });
        }
        hosts
    }
}

/// The target for a `[[host]]`: `~/.ssh/config`'s settings for that name,
/// with the entry's own fields on top.
fn target_of(host: &HostConfig, file: &SshConfigFile, env: &SshEnv) -> SshTarget {
    let mut target = if file.has_alias(&host.name) {
        let mut t = file.target_for(&host.name);
        t.alias = host.name.clone();
        t
    } else {
        SshTarget::new(host.name.clone(), host.name.clone())
    };
    if let Some(hostname) = &host.hostname {
        target.hostname = hostname.clone();
    }
    if let Some(user) = &host.user {
        target.user = Some(user.clone());
    }
    if let Some(port) = host.port {
        target.port = port;
    }
    if let Some(key) = &host.identity_file {
        target.identity_files = vec![crate::host::ssh::config::expand_home(
            std::path::Path::new(key),
            &env.home,
        )];
    }
    if host.proxy_jump.is_some() {
        target.proxy_jump = host.proxy_jump.clone();
    }
    target
}
