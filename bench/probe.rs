//! Probe: N SSH hosts × the whole agent catalog, flightdeck's way (one
//! connection and one exec of the probe script per host, all hosts at once)
//! versus the seed's way (BooCode: one `ssh` process per check —
//! `command -v`, then `--version` and the ACP check of each agent found).
//!
//! The hosts are aliases (host1…hostN) in a temp `~/.ssh/config`, all
//! pointing at one real `sshd` on 127.0.0.1 (tests/common/sshd.rs) and
//! logging in as a throwaway user whose ~/.local/bin holds the fake agent
//! as `claude`, `codex`, `gemini` and `opencode`. Host keys are checked on
//! both sides against a temp known_hosts. Each alias gets its own connection.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use flightdeck::catalog::{Agent, Catalog};
use flightdeck::config::{HostConfig, Settings};
use flightdeck::host::Host;
use flightdeck::host::ssh::{RefusingPrompter, SshContext, SshEnv};
use flightdeck::probe::{HostProbe, first_version, probe_host};
use flightdeck::shell::quote;
use flightdeck::supervisor::HostRegistry;

use crate::Ctx;
use crate::harness::{Res, run_with_timeout};
use crate::report::{Report, Row, Samples, yes_no};
use crate::sshd::{ClientHome, Sshd, TestUser};

/// The catalog agents installed on every host (as copies of the fake agent).
const INSTALLED: &[&str] = &["claude", "codex", "gemini", "opencode"];
const VERSION: &str = "1.2.3";
const GOAL: &str = "< 1 s and ≥ 10× faster";

pub fn run(ctx: &Ctx, report: &mut Report) {
    let hosts = ctx.sizes.probe_hosts;
    eprintln!("== SSH probe ({hosts} hosts × the catalog)");
    report.attempt(
        &format!("Probe: {hosts} SSH hosts × the catalog vs one `ssh` per check"),
        GOAL,
        |r| probe(ctx, r),
    );
}

fn probe(ctx: &Ctx, report: &mut Report) -> Res<()> {
    let lab = Lab::new(ctx, ctx.sizes.probe_hosts)?;
    let catalog = Catalog::builtin();
    let runs = ctx.sizes.probe_runs;
    let n = lab.hosts.len();

    // flightdeck, as a user runs it: a new process, new connections.
    let execs = lab.execs();
    let mut cli = Vec::new();
    for _ in 0..runs {
        cli.push(lab.flightdeck_cli()?);
    }
    let cli = Samples::new(cli);
    let cli_execs = (lab.execs() - execs) / runs;

    // flightdeck in process: the registry and `probe_host`, cold then warm.
    let (cold, warm) = lab.flightdeck_in_process(ctx, &catalog, runs)?;

    // The seed's way: sequential checks per host; hosts in turn, then at once.
    let execs = lab.execs();
    let started = Instant::now();
    for host in &lab.hosts {
        lab.seed_host(host, &catalog)?;
    }
    let seed = started.elapsed().as_secs_f64();
    let seed_execs = lab.execs() - execs;
    let started = Instant::now();
    std::thread::scope(|s| {
        let jobs: Vec<_> = lab
            .hosts
            .iter()
            .map(|host| s.spawn(|| lab.seed_host(host, &catalog)))
            .collect();
        jobs.into_iter().try_for_each(|j| {
            j.join()
                .unwrap_or_else(|_| Err("seed probe panicked".into()))
        })
    })?;
    let seed_parallel = started.elapsed().as_secs_f64();

    let fd = cli.median();
    let (vs_seed, vs_parallel) = (seed / fd, seed_parallel / fd);
    report.push(
        Row::new(
            format!(
                "Probe: {n} SSH hosts × the catalog ({} agents), cold: `flightdeck probe --json` \
                 (median of {runs}) vs the seed's one `ssh` per check, hosts in turn",
                catalog.agents().len()
            ),
            format!("{fd:.2} s (max {:.2}); {cli_execs} execs", cli.max()),
        )
        .raw(format!("seed: {seed:.2} s; {seed_execs} `ssh` processes"))
        .goal(
            GOAL,
            format!(
                "{} ({vs_seed:.0}× faster)",
                yes_no(fd < 1.0 && vs_seed >= 10.0)
            ),
        ),
    );
    report.push(
        Row::new(
            "… the seed's way with its hosts probed in parallel",
            format!("{fd:.2} s"),
        )
        .raw(format!("seed: {seed_parallel:.2} s"))
        .goal(
            "≥ 10× faster",
            format!("{} ({vs_parallel:.1}×)", yes_no(vs_parallel >= 10.0)),
        ),
    );
    report.push(Row::new(
        format!("… flightdeck in process (`HostRegistry` + `probe_host`, {n} at once): cold / warm (connections up), p50 of {runs}"),
        format!("{:.2} s / {:.2} s (max {:.2} / {:.2})", cold.median(), warm.median(), cold.max(), warm.max()),
    ));
    report.note(format!(
        "Probe: {n} aliases (host1…host{n}) in a temp `~/.ssh/config`, all pointing at one OpenSSH sshd on 127.0.0.1 \
         (so client and server share the {} cores), each alias its own connection, host keys checked against a temp \
         known_hosts on both sides; the login user is a throwaway test user whose ~/.local/bin holds the fake agent as {} \
         ({} of the {} catalog agents; both ways find exactly these, with version {VERSION} and ACP where the catalog checks it). \
         `flightdeck probe --json` also probes this machine (the `local` host) in the same run. The seed's way runs \
         `ssh -F CONFIG -o BatchMode=yes hostN CMD` for `command -v BIN`, then `BIN --version` and the catalog's ACP check \
         (as BooCode does for ACP-capable agents) for each agent found, one after another; the remote user's PATH for \
         those non-login commands comes from ~/.ssh/environment (PermitUserEnvironment). sshd runs with `MaxStartups 200` \
         so that its default (10 unauthenticated connections, then random drops) does not refuse either side's \
         concurrent logins. Exec counts are from sshd's log; one `ssh` process of the seed's way takes {:.0} ms on average.",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        INSTALLED.join(", "),
        INSTALLED.len(),
        catalog.agents().len(),
        seed * 1000.0 / seed_execs.max(1) as f64,
    ));
    Ok(())
}

/// The SSH setup. Field order is drop order: sshd (and every session) goes
/// first, then the test user (its processes, home and account), then the
/// client HOME.
struct Lab {
    sshd: Sshd,
    _user: TestUser,
    client: ClientHome,
    bins: crate::harness::Bins,
    hosts: Vec<String>,
}

impl Lab {
    fn new(ctx: &Ctx, n: usize) -> Res<Self> {
        if !nix::unistd::geteuid().is_root() {
            return Err("needs root (it creates a throwaway login user for sshd)".into());
        }
        if !Path::new("/usr/sbin/sshd").exists() {
            return Err("needs OpenSSH's server (/usr/sbin/sshd): install openssh-server".into());
        }
        let sshd = Sshd::start_with("PermitUserEnvironment yes\nMaxStartups 200\n");
        let client = ClientHome::new();
        let key = client.authorized_key("id_ed25519", None, &sshd);
        client.trust(&sshd);
        let user = TestUser::create("/bin/sh");
        let fake = std::fs::read(&ctx.bins.fake).map_err(|e| format!("fake-agent: {e}"))?;
        for bin in INSTALLED {
            user.install(&format!(".local/bin/{bin}"), &fake, 0o755);
        }
        let path = format!(
            "{}/.local/bin:/usr/local/bin:/usr/bin:/bin",
            user.home.display()
        );
        user.install(
            ".ssh/environment",
            format!("PATH={path}\n").as_bytes(),
            0o600,
        );
        let hosts: Vec<String> = (1..=n).map(|i| format!("host{i}")).collect();
        let mut config = String::new();
        for host in &hosts {
            config.push_str(&format!(
                "Host {host}\n  HostName 127.0.0.1\n  Port {}\n  User {}\n  IdentityFile {}\n  \
                 IdentitiesOnly yes\n  UserKnownHostsFile {}\n  StrictHostKeyChecking yes\n\n",
                sshd.port,
                user.name,
                key.display(),
                client.known_hosts().display(),
            ));
        }
        client.write_ssh_config(&config);
        let lab = Lab {
            sshd,
            _user: user,
            client,
            bins: ctx.bins.clone(),
            hosts,
        };
        // Both ways must work before anything is timed.
        let out = lab.ssh(&lab.hosts[0], "command -v claude")?;
        if !out.status.success() {
            return Err(format!(
                "ssh host1 does not work: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(lab)
    }

    fn ssh_config(&self) -> PathBuf {
        self.client.ssh_dir().join("config")
    }

    /// Commands sshd has run so far (one per exec channel or `ssh` process).
    fn execs(&self) -> usize {
        self.sshd.log().matches("Starting session: command").count()
    }

    /// `ssh HOST COMMAND` with the system client; an error only when ssh
    /// itself failed (exit 255), not the remote command.
    fn ssh(&self, host: &str, command: &str) -> Res<std::process::Output> {
        let mut cmd = Command::new("ssh");
        cmd.arg("-F")
            .arg(self.ssh_config())
            .args(["-o", "BatchMode=yes", host, command])
            .env_remove("SSH_AUTH_SOCK");
        let out = run_with_timeout(&mut cmd, Duration::from_secs(30))?;
        if out.status.code() == Some(255) {
            return Err(format!(
                "ssh {host} {command:?}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(out)
    }

    /// `flightdeck probe --json` with every host in its config: seconds, after
    /// checking what it found.
    fn flightdeck_cli(&self) -> Res<f64> {
        let fd_home = self.client.home().join("flightdeck");
        std::fs::create_dir_all(fd_home.join("config")).map_err(|e| e.to_string())?;
        let config: String = self
            .hosts
            .iter()
            .map(|h| format!("[[host]]\nname = \"{h}\"\n\n"))
            .collect();
        std::fs::write(fd_home.join("config/config.toml"), config).map_err(|e| e.to_string())?;
        let mut cmd = Command::new(&self.bins.flightdeck);
        cmd.args(["probe", "--json"])
            .env("FLIGHTDECK_HOME", &fd_home)
            .env("HOME", self.client.home())
            .env("SHELL", "/bin/sh")
            .env("USER", "root")
            .env_remove("SSH_AUTH_SOCK");
        let started = Instant::now();
        let out = run_with_timeout(&mut cmd, Duration::from_secs(60))?;
        let secs = started.elapsed().as_secs_f64();
        if !out.status.success() {
            return Err(format!(
                "flightdeck probe --json failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let probes: Vec<HostProbe> = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("flightdeck probe --json printed no probes: {e}"))?;
        for host in &self.hosts {
            let probe = probes
                .iter()
                .find(|p| &p.host == host)
                .ok_or_else(|| format!("flightdeck probe --json left out {host}"))?;
            check_probe(probe)?;
        }
        Ok(secs)
    }

    /// All hosts probed at once through a `HostRegistry`, `runs` times with
    /// new connections (cold) and `runs` times on one set (warm); seconds.
    fn flightdeck_in_process(
        &self,
        ctx: &Ctx,
        catalog: &Catalog,
        runs: usize,
    ) -> Res<(Samples, Samples)> {
        let timeout = Settings::default().probe_timeout;
        let configs: Vec<HostConfig> = self
            .hosts
            .iter()
            .map(|h| HostConfig {
                name: h.clone(),
                ..Default::default()
            })
            .collect();
        let env = SshEnv {
            home: self.client.home().to_path_buf(),
            auth_sock: None,
            local_user: Some("root".into()),
        };
        let probe_all = |hosts: &[Arc<dyn Host>]| -> Res<f64> {
            let started = Instant::now();
            let jobs = hosts
                .iter()
                .map(|h| probe_host(h.as_ref(), catalog, timeout));
            let probes = ctx.rt.block_on(futures::future::join_all(jobs));
            let secs = started.elapsed().as_secs_f64();
            probes.iter().try_for_each(check_probe)?;
            Ok(secs)
        };
        let (mut cold, mut warm) = (Vec::new(), Vec::new());
        for run in 0..runs {
            // Hosts watch their connection state on the caller's runtime.
            let _in_runtime = ctx.rt.enter();
            let (events, _events_rx) = tokio::sync::mpsc::unbounded_channel();
            let context = SshContext::new(env.clone(), Arc::new(RefusingPrompter));
            let mut registry =
                HostRegistry::new(context, flightdeck::host::LocalHost::default(), events);
            registry.configure(&configs);
            let hosts = self
                .hosts
                .iter()
                .map(|h| registry.get(h))
                .collect::<Result<Vec<_>, _>>()?;
            cold.push(probe_all(&hosts)?);
            if run == 0 {
                for _ in 0..runs {
                    warm.push(probe_all(&hosts)?);
                }
            }
        }
        Ok((Samples::new(cold), Samples::new(warm)))
    }

    /// BooCode's probe of one host: an `ssh` per check, one after another.
    fn seed_host(&self, host: &str, catalog: &Catalog) -> Res<()> {
        let mut found = Vec::new();
        for agent in catalog.agents() {
            let which = self.ssh(host, &format!("command -v {}", quote(&agent.binary)))?;
            let path = String::from_utf8_lossy(&which.stdout).trim().to_string();
            if !which.status.success() || path.is_empty() {
                continue;
            }
            let version = self.ssh(host, &shell_words(agent, &agent.version))?;
            let version = version
                .status
                .success()
                .then(|| first_version(&String::from_utf8_lossy(&version.stdout)))
                .flatten();
            let acp = match &agent.acp_check {
                Some(args) => {
                    let out = self.ssh(host, &shell_words(agent, args))?;
                    let needle = agent
                        .acp_check_contains
                        .as_deref()
                        .unwrap_or("")
                        .to_lowercase();
                    let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
                    Some(out.status.success() && text.contains(&needle))
                }
                None => None,
            };
            found.push((agent.id.clone(), version, acp));
        }
        let ids: Vec<&str> = found.iter().map(|f| f.0.as_str()).collect();
        let all_right = ids == INSTALLED
            && found
                .iter()
                .all(|(_, v, acp)| v.as_deref() == Some(VERSION) && *acp != Some(false));
        if !all_right {
            return Err(format!("the seed's way found {found:?} on {host}"));
        }
        Ok(())
    }
}

/// `BIN ARGS…` as a shell command line.
fn shell_words(agent: &Agent, args: &[String]) -> String {
    std::iter::once(&agent.binary)
        .chain(args)
        .map(|w| quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The probe found exactly the installed agents, with their version and,
/// where the catalog checks it, ACP.
fn check_probe(probe: &HostProbe) -> Res<()> {
    if let Some(e) = &probe.error {
        return Err(format!("{}: {e}", probe.host));
    }
    for agent in &probe.agents {
        let installed = INSTALLED.contains(&agent.id.as_str());
        let right = if installed {
            agent.found && agent.version.as_deref() == Some(VERSION) && agent.acp != Some(false)
        } else {
            !agent.found
        };
        if !right {
            return Err(format!("{}: unexpected probe of {agent:?}", probe.host));
        }
    }
    Ok(())
}
