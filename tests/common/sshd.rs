//! A real OpenSSH server for the SSH tests: `sshd -D -e` on 127.0.0.1 on a
//! free port, with a fresh host key, authorized_keys and log in a temp dir.
//! Also: a throwaway client HOME (never the real ~/.ssh), a real ssh-agent,
//! test users with their own login shell and PATH, and a scripted prompter.
//!
//! sshd must be installed: when /usr/sbin/sshd is missing and we are root
//! with apt-get, openssh-server is installed; otherwise the tests fail with
//! a message saying so (they never skip).

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use flightdeck::host::ssh::{
    HostKeyQuestion, PassphraseQuestion, SshContext, SshEnv, SshHost, SshPrompter, SshTarget,
    SshTimeouts,
};

const SSHD: &str = "/usr/sbin/sshd";
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// The sshd binary, installed on demand (root + apt-get), else a clear panic.
pub fn sshd_bin() -> &'static Path {
    static CHECKED: OnceLock<()> = OnceLock::new();
    CHECKED.get_or_init(|| {
        if Path::new(SSHD).exists() {
            return;
        }
        let root = nix::unistd::geteuid().is_root();
        let apt = Path::new("/usr/bin/apt-get").exists();
        assert!(
            root && apt,
            "the SSH tests need OpenSSH's server at {SSHD}: install the openssh-server \
             package (or run the tests as root on a Debian/Ubuntu machine to have it installed)"
        );
        for args in [
            &["update", "-q"][..],
            &["install", "-y", "-q", "openssh-server"],
        ] {
            let ok = Command::new("apt-get")
                .args(args)
                .env("DEBIAN_FRONTEND", "noninteractive")
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok,
                "apt-get {args:?} failed; install openssh-server by hand"
            );
        }
        assert!(
            Path::new(SSHD).exists(),
            "openssh-server installed no {SSHD}"
        );
    });
    Path::new(SSHD)
}

/// Runs a program and panics with its output if it fails.
pub fn run_ok(program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ssh-keygen` of an ed25519 key at `path` (and `path.pub`).
pub fn keygen(path: &Path, passphrase: Option<&str>) -> PathBuf {
    let path_text = path.to_str().unwrap();
    run_ok(
        "ssh-keygen",
        &[
            "-q",
            "-t",
            "ed25519",
            "-C",
            "fd-test",
            "-N",
            passphrase.unwrap_or(""),
            "-f",
            path_text,
        ],
    );
    path.to_path_buf()
}

/// The `.pub` beside a private key.
pub fn public_of(key: &Path) -> PathBuf {
    PathBuf::from(format!("{}.pub", key.display()))
}

pub struct Sshd {
    dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
}

impl Sshd {
    pub fn start() -> Sshd {
        Self::start_with("")
    }

    /// With `extra` lines appended to sshd_config.
    pub fn start_with(extra: &str) -> Sshd {
        sshd_bin();
        let dir = tempfile::tempdir().unwrap();
        // Other users (test users) must reach authorized_keys.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        keygen(&dir.path().join("host_ed25519"), None);
        let keys = dir.path().join("authorized_keys");
        fs::write(&keys, "").unwrap();
        fs::set_permissions(&keys, fs::Permissions::from_mode(0o644)).unwrap();
        // sshd refuses to start without it.
        let _ = fs::create_dir_all("/run/sshd");
        let mut sshd = Sshd {
            dir,
            port: 0,
            child: None,
        };
        sshd.write_config(extra);
        sshd.launch_on_free_port();
        sshd
    }

    fn write_config(&self, extra: &str) {
        let d = self.dir.path().display();
        let config = format!(
            "ListenAddress 127.0.0.1\nHostKey {d}/host_ed25519\nAuthorizedKeysFile {d}/authorized_keys\n\
             PidFile {d}/sshd.pid\nStrictModes no\nPermitRootLogin yes\nUsePAM no\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nAllowTcpForwarding yes\n\
             PrintMotd no\nLogLevel VERBOSE\n{extra}\n"
        );
        fs::write(self.dir.path().join("sshd_config"), config).unwrap();
    }

    fn launch_on_free_port(&mut self) {
        for _ in 0..10 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            if self.launch(port) {
                return;
            }
        }
        panic!("sshd did not start; log:\n{}", self.log());
    }

    /// Starts sshd on `port`; false if it exited (e.g. the port was taken).
    fn launch(&mut self, port: u16) -> bool {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("sshd.log"))
            .unwrap();
        let config = self.dir.path().join("sshd_config");
        let child = Command::new(sshd_bin())
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .args(["-o", &format!("Port={port}")])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("cannot start sshd");
        self.child = Some(child);
        self.port = port;
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && child.try_wait().unwrap().is_some()
            {
                self.child = None;
                return false;
            }
            if answers_ssh(port) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "sshd on port {port} did not answer in time; log:\n{}",
            self.log()
        );
    }

    /// Appends `public_key_file` to authorized_keys (sshd rereads it per login).
    pub fn authorize(&self, public_key_file: &Path) {
        let key = fs::read_to_string(public_key_file).unwrap();
        let mut file = fs::OpenOptions::new()
            .append(true)
            .open(self.dir.path().join("authorized_keys"))
            .unwrap();
        writeln!(file, "{}", key.trim()).unwrap();
    }

    /// "ssh-ed25519 AAAA…" of this server.
    pub fn host_public_key(&self) -> String {
        let text = fs::read_to_string(self.dir.path().join("host_ed25519.pub")).unwrap();
        text.split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The known_hosts line for this server.
    pub fn known_hosts_line(&self) -> String {
        format!("[127.0.0.1]:{} {}", self.port, self.host_public_key())
    }

    /// "SHA256:…" of the host key.
    pub fn fingerprint(&self) -> String {
        let path = self.dir.path().join("host_ed25519.pub");
        let out = run_ok("ssh-keygen", &["-l", "-f", path.to_str().unwrap()]);
        out.split_whitespace().nth(1).unwrap().to_string()
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }

    /// Kills the listener and every connection's sshd process at once, as
    /// if the machine went away: clients see their connections drop.
    pub fn kill(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        // SIGKILL ends frozen processes too.
        let root = child.id();
        let sshd_pids: Vec<u32> = descendants(root)
            .into_iter()
            .filter(|pid| comm(*pid).as_deref() == Some("sshd"))
            .collect();
        let _ = child.kill();
        let _ = child.wait();
        for pid in sshd_pids {
            kill_pid(pid);
        }
    }

    /// Freezes (`true`) or thaws every connection's sshd process: a host
    /// that stops answering without closing anything.
    pub fn freeze_sessions(&self, frozen: bool) {
        let Some(child) = self.child.as_ref() else {
            return;
        };
        let signal = if frozen {
            nix::sys::signal::Signal::SIGSTOP
        } else {
            nix::sys::signal::Signal::SIGCONT
        };
        for pid in descendants(child.id()) {
            if comm(pid).as_deref() == Some("sshd") {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), signal);
            }
        }
    }

    /// Starts again on the same port with the same keys.
    pub fn restart(&mut self) {
        self.kill();
        let port = self.port;
        let deadline = Instant::now() + READY_TIMEOUT;
        while !self.launch(port) {
            assert!(
                Instant::now() < deadline,
                "sshd cannot listen on {port} again"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A target for `user` on this server.
    pub fn target(&self, alias: &str, user: &str) -> SshTarget {
        let mut target = SshTarget::new(alias, "127.0.0.1");
        target.user = Some(user.to_string());
        target.port = self.port;
        target
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// True once something on `port` speaks SSH.
fn answers_ssh(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let mut banner = [0u8; 8];
    stream.read_exact(&mut banner).is_ok() && &banner == b"SSH-2.0-"
}

/// Every process below `root`, from /proc.
pub fn descendants(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for (pid, stat) in proc_stats() {
        // "pid (comm) state ppid …"; comm may hold spaces, so parse after ')'.
        if let Some(ppid) = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse().ok())
        {
            children.entry(ppid).or_default().push(pid);
        }
    }
    let mut found = Vec::new();
    let mut queue = vec![root];
    while let Some(pid) = queue.pop() {
        for &child in children.get(&pid).into_iter().flatten() {
            found.push(child);
            queue.push(child);
        }
    }
    found
}

fn proc_stats() -> Vec<(u32, String)> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| Some((pid, fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)))
        .collect()
}

fn comm(pid: u32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|c| c.trim().to_string())
}

fn kill_pid(pid: u32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGKILL,
    );
}

/// A throwaway HOME for the client side, with ~/.ssh (0700).
pub struct ClientHome {
    pub dir: tempfile::TempDir,
}

impl ClientHome {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ssh = dir.path().join(".ssh");
        fs::create_dir_all(&ssh).unwrap();
        fs::set_permissions(&ssh, fs::Permissions::from_mode(0o700)).unwrap();
        ClientHome { dir }
    }

    pub fn home(&self) -> &Path {
        self.dir.path()
    }

    pub fn ssh_dir(&self) -> PathBuf {
        self.home().join(".ssh")
    }

    pub fn known_hosts(&self) -> PathBuf {
        self.ssh_dir().join("known_hosts")
    }

    /// A new key in ~/.ssh/`name`, authorized on `sshd`.
    pub fn authorized_key(&self, name: &str, passphrase: Option<&str>, sshd: &Sshd) -> PathBuf {
        let key = keygen(&self.ssh_dir().join(name), passphrase);
        sshd.authorize(&public_of(&key));
        key
    }

    /// Records `sshd`'s host key in ~/.ssh/known_hosts.
    pub fn trust(&self, sshd: &Sshd) {
        let mut file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.known_hosts())
            .unwrap();
        writeln!(file, "{}", sshd.known_hosts_line()).unwrap();
    }

    pub fn write_ssh_config(&self, text: &str) {
        fs::write(self.ssh_dir().join("config"), text).unwrap();
    }

    /// The environment flightdeck would see with this HOME.
    pub fn env(&self, auth_sock: Option<&Path>) -> SshEnv {
        SshEnv {
            home: self.home().to_path_buf(),
            auth_sock: auth_sock.map(Path::to_path_buf),
            local_user: Some("root".into()),
        }
    }

    pub fn context(&self, prompter: Arc<dyn SshPrompter>, auth_sock: Option<&Path>) -> SshContext {
        SshContext {
            env: self.env(auth_sock),
            prompter,
            timeouts: test_timeouts(),
        }
    }

    /// An `SshHost` for `target` that refuses every question.
    pub fn host(&self, target: SshTarget) -> SshHost {
        SshHost::new(
            target,
            Vec::new(),
            self.context(ScriptedPrompter::refusing(), None),
        )
    }
}

impl Default for ClientHome {
    fn default() -> Self {
        Self::new()
    }
}

/// Short limits so failures show quickly in tests.
pub fn test_timeouts() -> SshTimeouts {
    SshTimeouts {
        connect: Duration::from_secs(5),
        step: Duration::from_secs(5),
        keepalive: Duration::from_secs(2),
        keepalive_max: 3,
        rtt_every: Duration::from_millis(500),
        max_backoff: Duration::from_secs(2),
    }
}

/// A root server with a trusted host key and an authorized key: the common case.
pub struct Fixture {
    pub sshd: Sshd,
    pub client: ClientHome,
    pub host: SshHost,
}

impl Fixture {
    pub fn new() -> Self {
        let sshd = Sshd::start();
        let client = ClientHome::new();
        client.authorized_key("id_ed25519", None, &sshd);
        client.trust(&sshd);
        let host = client.host(sshd.target("box", "root"));
        Fixture { sshd, client, host }
    }
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new()
    }
}

/// A real `ssh-agent -D -a sock`, killed on drop.
pub struct SshAgent {
    _dir: tempfile::TempDir,
    pub sock: PathBuf,
    child: Child,
}

impl SshAgent {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("agent.sock");
        let child = Command::new("ssh-agent")
            .arg("-D")
            .arg("-a")
            .arg(&sock)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start ssh-agent");
        let deadline = Instant::now() + READY_TIMEOUT;
        while !sock.exists() {
            assert!(
                Instant::now() < deadline,
                "ssh-agent did not create {sock:?}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        SshAgent {
            _dir: dir,
            sock,
            child,
        }
    }

    /// `ssh-add key` (an unencrypted key).
    pub fn add(&self, key: &Path) {
        let out = Command::new("ssh-add")
            .arg(key)
            .env("SSH_AUTH_SOCK", &self.sock)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ssh-add: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for SshAgent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// useradd/userdel lock /etc/passwd; one at a time within a test binary.
static USERS: Mutex<()> = Mutex::new(());

/// A login user of its own (CI runs as root), removed with its processes
/// and home on drop. OpenSSH runs this user's login shell, so the tests
/// control its PATH and rc files.
pub struct TestUser {
    pub name: String,
    pub home: PathBuf,
    uid: u32,
}

impl TestUser {
    /// A user whose login shell is `shell`.
    pub fn create(shell: &str) -> Self {
        static COUNT: AtomicU32 = AtomicU32::new(0);
        assert!(
            nix::unistd::geteuid().is_root(),
            "the SSH tests create test users and must run as root"
        );
        let name = format!(
            "fdt{}x{}",
            std::process::id() % 100_000,
            COUNT.fetch_add(1, Ordering::SeqCst)
        );
        {
            let _lock = USERS.lock().unwrap_or_else(|e| e.into_inner());
            // "*" (not "!"): sshd without PAM refuses locked accounts.
            run_ok("useradd", &["-m", "-p", "*", "-s", shell, &name]);
        }
        let entry = run_ok("getent", &["passwd", &name]);
        let fields: Vec<&str> = entry.trim().split(':').collect();
        TestUser {
            uid: fields[2].parse().unwrap(),
            home: PathBuf::from(fields[5]),
            name,
        }
    }

    /// Writes `bytes` to `relative` under the home (mode `mode`), owned by the user.
    pub fn install(&self, relative: &str, bytes: &[u8], mode: u32) -> PathBuf {
        let path = self.home.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, bytes).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
        run_ok(
            "chown",
            &[
                "-R",
                &format!("{0}:{0}", self.name),
                self.home.to_str().unwrap(),
            ],
        );
        path
    }

    pub fn target(&self, sshd: &Sshd, alias: &str) -> SshTarget {
        sshd.target(alias, &self.name)
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        // Whatever the tests left running as this user (only they use it).
        for (pid, _) in proc_stats() {
            let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let uid = status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().next())
                .and_then(|u| u.parse::<u32>().ok());
            if uid == Some(self.uid) {
                kill_pid(pid);
            }
        }
        let _lock = USERS.lock().unwrap_or_else(|e| e.into_inner());
        let _ = Command::new("userdel")
            .args(["-r", "-f", &self.name])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Answers questions from a script and records what was asked.
#[derive(Default)]
pub struct ScriptedPrompter {
    pub trust: bool,
    passphrases: Mutex<VecDeque<String>>,
    pub host_questions: Mutex<Vec<HostKeyQuestion>>,
    pub passphrase_questions: Mutex<Vec<PassphraseQuestion>>,
}

impl ScriptedPrompter {
    pub fn refusing() -> Arc<Self> {
        Arc::new(ScriptedPrompter::default())
    }

    pub fn trusting() -> Arc<Self> {
        Arc::new(ScriptedPrompter {
            trust: true,
            ..Default::default()
        })
    }

    /// Gives these passphrases, in order, then none.
    pub fn with_passphrases(passphrases: &[&str]) -> Arc<Self> {
        Arc::new(ScriptedPrompter {
            passphrases: Mutex::new(passphrases.iter().map(|p| p.to_string()).collect()),
            ..Default::default()
        })
    }

    pub fn host_questions(&self) -> Vec<HostKeyQuestion> {
        self.host_questions.lock().unwrap().clone()
    }

    pub fn passphrase_questions(&self) -> Vec<PassphraseQuestion> {
        self.passphrase_questions.lock().unwrap().clone()
    }
}

#[async_trait]
impl SshPrompter for ScriptedPrompter {
    async fn trust_host_key(&self, question: &HostKeyQuestion) -> bool {
        self.host_questions.lock().unwrap().push(question.clone());
        self.trust
    }

    async fn passphrase(&self, question: &PassphraseQuestion) -> Option<String> {
        self.passphrase_questions
            .lock()
            .unwrap()
            .push(question.clone());
        self.passphrases.lock().unwrap().pop_front()
    }
}

/// Runs a future to completion on a fresh runtime (tests are plain `#[test]`s
/// so blocking PTY reads can happen in them).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// Polls `check` every 20 ms until it holds or `limit` passes.
pub fn eventually(what: &str, limit: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}
