//! Where SSH hosts come from: flightdeck's own `[[host]]` entries,
//! `~/.ssh/config` (through ssh2-config), and what the user types
//! ("alias" or "user@host:port").

use std::path::{Path, PathBuf};

use ssh2_config::{ParseRule, SshConfig};

use super::SshEnv;
use super::error::ConfigError;

/// Everything needed to reach one SSH host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// The name flightdeck shows and the user types.
    pub alias: String,
    /// The address connected to (and looked up in known_hosts).
    pub hostname: String,
    /// `None`: the local user name.
    pub user: Option<String>,
    pub port: u16,
    /// Empty: ~/.ssh/id_ed25519, id_ecdsa, id_rsa.
    pub identity_files: Vec<PathBuf>,
    /// Offer only `identity_files` (also when they are in the agent).
    pub identities_only: bool,
    /// Hops as in OpenSSH's ProxyJump: "[user@]host[:port]" or aliases,
    /// comma-separated, outermost first.
    pub proxy_jump: Option<String>,
    /// Empty: ~/.ssh/known_hosts and ~/.ssh/known_hosts2. New keys go to the first.
    pub user_known_hosts_files: Vec<PathBuf>,
}

impl SshTarget {
    /// A target with OpenSSH's defaults: port 22, default keys and files.
    pub fn new(alias: impl Into<String>, hostname: impl Into<String>) -> Self {
        SshTarget {
            alias: alias.into(),
            hostname: hostname.into(),
            user: None,
            port: 22,
            identity_files: Vec::new(),
            identities_only: false,
            proxy_jump: None,
            user_known_hosts_files: Vec::new(),
        }
    }

    /// "user@host:port" for messages.
    pub fn destination(&self, env: &SshEnv) -> String {
        format!(
            "{}@{}:{}",
            self.login_user(env).unwrap_or("?"),
            self.hostname,
            self.port
        )
    }

    pub(crate) fn login_user<'a>(&'a self, env: &'a SshEnv) -> Option<&'a str> {
        self.user.as_deref().or(env.local_user.as_deref())
    }

    /// The key files to try, `~` expanded; OpenSSH's defaults when none are set.
    pub fn identity_files_or_default(&self, env: &SshEnv) -> Vec<PathBuf> {
        if self.identity_files.is_empty() {
            ["id_ed25519", "id_ecdsa", "id_rsa"]
                .iter()
                .map(|name| env.ssh_dir().join(name))
                .collect()
        } else {
            let expand = |p: &PathBuf| expand_home(p, &env.home);
            self.identity_files.iter().map(expand).collect()
        }
    }

    /// The known_hosts files to read, `~` expanded; new keys go to the first.
    pub fn known_hosts_files_or_default(&self, env: &SshEnv) -> Vec<PathBuf> {
        if self.user_known_hosts_files.is_empty() {
            vec![
                env.ssh_dir().join("known_hosts"),
                env.ssh_dir().join("known_hosts2"),
            ]
        } else {
            let expand = |p: &PathBuf| expand_home(p, &env.home);
            self.user_known_hosts_files.iter().map(expand).collect()
        }
    }
}

/// `~` and `~/x` against `home`; other paths unchanged.
pub fn expand_home(path: &Path, home: &Path) -> PathBuf {
    match path.strip_prefix("~") {
        Ok(rest) => home.join(rest),
        Err(_) => path.to_path_buf(),
    }
}

/// A parsed `~/.ssh/config` (empty when the file does not exist).
#[derive(Debug, Clone, Default)]
pub struct SshConfigFile {
    config: SshConfig,
    home: PathBuf,
}

impl SshConfigFile {
    /// Reads `~/.ssh/config`, with `Include`d files. `Match` blocks are not
    /// supported and are skipped in the top-level file.
    pub fn load(env: &SshEnv) -> Result<Self, ConfigError> {
        let file = env.ssh_dir().join("config");
        let text = match std::fs::read(&file) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(ConfigError::SshConfig {
                    file,
                    reason: e.to_string(),
                });
            }
        };
        Self::parse(&text, &env.home).map_err(|reason| ConfigError::SshConfig { file, reason })
    }

    /// Parses config text; `~` and relative `Include`s resolve against `home`.
    pub fn parse(text: &str, home: &Path) -> Result<Self, String> {
        let text = without_match_blocks(text);
        let config = SshConfig::default()
            .home_dir(home)
            .parse(
                &mut text.as_bytes(),
                ParseRule::ALLOW_UNKNOWN_FIELDS | ParseRule::ALLOW_UNSUPPORTED_FIELDS,
            )
            .map_err(|e| e.to_string())?;
        Ok(SshConfigFile {
            config,
            home: home.to_path_buf(),
        })
    }

    /// Concrete `Host` names (no wildcards or negations), in file order.
    pub fn aliases(&self) -> Vec<String> {
        let mut aliases: Vec<String> = Vec::new();
        for host in self.config.get_hosts() {
            for clause in &host.pattern {
                let concrete = !clause.negated && !clause.pattern.contains(['*', '?']);
                if concrete && !aliases.contains(&clause.pattern) {
                    aliases.push(clause.pattern.clone());
                }
            }
        }
        aliases
    }

    pub fn has_alias(&self, alias: &str) -> bool {
        self.aliases().iter().any(|a| a == alias)
    }

    /// The settings that apply to `name` (an alias or any host name, as
    /// `ssh name` would use them), under the alias `name`.
    pub fn target_for(&self, name: &str) -> SshTarget {
        let params = self.config.query(name);
        let raw = |key: &str| {
            params
                .unsupported_fields
                .get(key)
                .cloned()
                .unwrap_or_default()
        };
        let expand = |s: &String| expand_home(Path::new(&s.replace("%d", "~")), &self.home);
        let jumps: Vec<String> = params
            .proxy_jump
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter(|hop| !hop.eq_ignore_ascii_case("none"))
            .collect();
        SshTarget {
            alias: name.to_string(),
            // ssh2-config leaves %h unexpanded.
            hostname: params
                .host_name
                .as_deref()
                .unwrap_or(name)
                .replace("%h", name),
            user: params.user.clone(),
            port: params.port.unwrap_or(22),
            identity_files: params.identity_file.clone().unwrap_or_default(),
            identities_only: raw("identitiesonly")
                .first()
                .is_some_and(|v| v.eq_ignore_ascii_case("yes")),
            proxy_jump: (!jumps.is_empty()).then(|| jumps.join(",")),
            user_known_hosts_files: raw("userknownhostsfile").iter().map(expand).collect(),
        }
    }
}

/// Drops `Match` blocks (up to the next `Host` line): ssh2-config would
/// otherwise apply their bodies to the preceding `Host` block.
fn without_match_blocks(text: &str) -> String {
    let keyword = |line: &str| {
        line.trim_start()
            .split(|c: char| c.is_whitespace() || c == '=')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    };
    let mut in_match = false;
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        match keyword(line).as_str() {
            "match" => in_match = true,
            "host" => in_match = false,
            _ => {}
        }
        if !in_match {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// All hosts the user can name: flightdeck's own, then `~/.ssh/config`'s.
#[derive(Debug, Clone, Default)]
pub struct SshDirectory {
    configured: Vec<SshTarget>,
    file: SshConfigFile,
}

/// How deep ProxyJump chains may go (also catches loops).
const MAX_HOPS: usize = 8;

impl SshDirectory {
    pub fn new(configured: Vec<SshTarget>, file: SshConfigFile) -> Self {
        SshDirectory { configured, file }
    }

    /// flightdeck's targets plus `~/.ssh/config` under `env.home`.
    pub fn load(env: &SshEnv, configured: Vec<SshTarget>) -> Result<Self, ConfigError> {
        Ok(Self::new(configured, SshConfigFile::load(env)?))
    }

    /// flightdeck's aliases first, then those only in `~/.ssh/config`.
    pub fn aliases(&self) -> Vec<String> {
        let mut aliases: Vec<String> = self.configured.iter().map(|t| t.alias.clone()).collect();
        for alias in self.file.aliases() {
            if !aliases.contains(&alias) {
                aliases.push(alias);
            }
        }
        aliases
    }

    /// The target named `alias`; flightdeck's config wins over `~/.ssh/config`.
    pub fn resolve(&self, alias: &str) -> Result<SshTarget, ConfigError> {
        if let Some(target) = self.configured.iter().find(|t| t.alias == alias) {
            return Ok(target.clone());
        }
        if self.file.has_alias(alias) {
            return Ok(self.file.target_for(alias));
        }
        Err(ConfigError::UnknownAlias {
            alias: alias.to_string(),
        })
    }

    /// What the user typed: a known alias, or `[user@]host[:port]` (IPv6 as
    /// `[addr]:port`). A bare unknown word is an unknown alias, not a host name.
    pub fn parse_input(&self, input: &str) -> Result<SshTarget, ConfigError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(bad_input(input, "empty"));
        }
        if let Ok(target) = self.resolve(input) {
            return Ok(target);
        }
        if !input.contains(['@', ':']) {
            return Err(ConfigError::UnknownAlias {
                alias: input.to_string(),
            });
        }
        self.address_target(input, input)
    }

    /// The ProxyJump hops to go through to reach `target`, outermost first,
    /// each resolved like `ssh` would (an alias, else a host name).
    pub fn jump_chain(&self, target: &SshTarget) -> Result<Vec<SshTarget>, ConfigError> {
        let mut chain = Vec::new();
        self.push_hops(target, &mut chain, 0)?;
        Ok(chain)
    }

    fn push_hops(
        &self,
        target: &SshTarget,
        chain: &mut Vec<SshTarget>,
        depth: usize,
    ) -> Result<(), ConfigError> {
        let Some(jumps) = target.proxy_jump.as_deref() else {
            return Ok(());
        };
        let hops: Vec<&str> = jumps
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .collect();
        for (index, hop) in hops.iter().enumerate() {
            if depth + chain.len() >= MAX_HOPS {
                return Err(ConfigError::JumpLoop {
                    alias: target.alias.clone(),
                    max: MAX_HOPS,
                });
            }
            let hop_target = match self.resolve(hop) {
                Ok(t) => t,
                Err(_) => self.address_target(hop, hop)?,
            };
            // Only the first hop is reached its own way; later ones go
            // through the hop before them.
            if index == 0 {
                self.push_hops(&hop_target, chain, depth + 1)?;
            }
            let mut hop_target = hop_target;
            hop_target.proxy_jump = None;
            chain.push(hop_target);
        }
        Ok(())
    }

    /// `[user@]host[:port]` with the `~/.ssh/config` settings for `host`.
    fn address_target(&self, input: &str, alias: &str) -> Result<SshTarget, ConfigError> {
        let address = parse_address(input).map_err(|reason| bad_input(input, &reason))?;
        let mut target = self.file.target_for(address.host);
        target.alias = alias.to_string();
        if let Some(user) = address.user {
            target.user = Some(user.to_string());
        }
        if let Some(port) = address.port {
            target.port = port;
        }
        Ok(target)
    }
}

/// `[user@]host[:port]`, the one spelling of an SSH address flightdeck
/// reads (typed in the dashboard, in ProxyJump).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Address<'a> {
    pub user: Option<&'a str>,
    pub host: &'a str,
    pub port: Option<u16>,
}

/// Parses `[user@]host[:port]`, IPv6 as `[addr]` or `[addr]:port`.
pub fn parse_address(input: &str) -> Result<Address<'_>, String> {
    let (user, rest) = match input.rsplit_once('@') {
        Some((user, rest)) if !user.is_empty() => (Some(user), rest),
        Some(_) => return Err("empty user name before '@'".into()),
        None => (None, input),
    };
    let (host, port) = split_host_port(rest)?;
    if host.is_empty() || host.contains(|c: char| c.is_whitespace() || c == '/') {
        return Err("not a host name".into());
    }
    Ok(Address { user, host, port })
}

/// "host", "host:port", "[v6addr]" or "[v6addr]:port".
fn split_host_port(text: &str) -> Result<(&str, Option<u16>), String> {
    let parse_port = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|p| *p != 0)
            .ok_or_else(|| format!("{p:?} is not a port (a number from 1 to 65535)"))
    };
    if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or("missing ']'")?;
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(parse_port(port)?))),
                None => Err("unexpected text after ']'".into()),
            },
        };
    }
    match text.split_once(':') {
        None => Ok((text, None)),
        Some((host, port)) if !port.contains(':') => Ok((host, Some(parse_port(port)?))),
        Some(_) => Err("write IPv6 addresses as [addr]:port".into()),
    }
}

fn bad_input(input: &str, reason: &str) -> ConfigError {
    ConfigError::BadInput {
        input: input.to_string(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "\
IdentityFile ~/.ssh/id_global
Host web1 web2
    HostName=10.0.0.%h
    User deploy
    Port 2200
    IdentityFile ~/.ssh/id_web
    IdentitiesOnly yes
    ProxyJump bastion
    UserKnownHostsFile ~/.ssh/known_work %d/.ssh/known_more
Match host x
    User matched
Host bastion
    HostName bastion.example.com
    User jump
    ProxyJump alice@outer:2201
Host *.corp !secret.corp
    User corp
Host loop1
    ProxyJump loop2
Host loop2
    ProxyJump loop1
";

    fn directory() -> SshDirectory {
        let file = SshConfigFile::parse(CONFIG, Path::new("/home/me")).unwrap();
        let mut own = SshTarget::new("box", "box.lan");
        own.user = Some("me".into());
        SshDirectory::new(vec![own], file)
    }

    #[test]
    fn lists_concrete_aliases_flightdeck_first() {
        assert_eq!(
            directory().aliases(),
            ["box", "web1", "web2", "bastion", "loop1", "loop2"]
        );
    }

    #[test]
    fn resolves_an_alias_with_every_setting() {
        let web = directory().resolve("web1").unwrap();
        assert_eq!(web.hostname, "10.0.0.web1");
        assert_eq!(web.user.as_deref(), Some("deploy"));
        assert_eq!(web.port, 2200);
        // In file order, as OpenSSH accumulates them.
        assert_eq!(
            web.identity_files,
            [
                PathBuf::from("/home/me/.ssh/id_global"),
                PathBuf::from("/home/me/.ssh/id_web")
            ]
        );
        assert!(web.identities_only);
        assert_eq!(web.proxy_jump.as_deref(), Some("bastion"));
        assert_eq!(
            web.user_known_hosts_files,
            [
                PathBuf::from("/home/me/.ssh/known_work"),
                PathBuf::from("/home/me/.ssh/known_more")
            ]
        );
        // The Match block's body did not leak into web1.
        assert_eq!(
            directory().resolve("web2").unwrap().user.as_deref(),
            Some("deploy")
        );
    }

    #[test]
    fn typed_input_alias_or_address() {
        let dir = directory();
        assert_eq!(dir.parse_input(" box ").unwrap().hostname, "box.lan");
        let t = dir.parse_input("ci@build.corp:2022").unwrap();
        assert_eq!(
            (t.user.as_deref(), t.hostname.as_str(), t.port),
            (Some("ci"), "build.corp", 2022)
        );
        let t = dir.parse_input("x.corp:22").unwrap();
        assert_eq!(t.user.as_deref(), Some("corp"), "Host *.corp applies");
        assert_eq!(dir.parse_input("secret.corp:22").unwrap().user, None);
        let t = dir.parse_input("root@[::1]:2222").unwrap();
        assert_eq!((t.hostname.as_str(), t.port), ("::1", 2222));
        assert_eq!(
            dir.parse_input("nosuch").unwrap_err(),
            ConfigError::UnknownAlias {
                alias: "nosuch".into()
            }
        );
        for bad in [
            "", "a@b:0", "a@b:x", "@b", "a@", "a@b c", "a@::1:22", "[::1",
        ] {
            assert!(dir.parse_input(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn jump_chains_resolve_recursively_and_stop_loops() {
        let dir = directory();
        let web = dir.resolve("web1").unwrap();
        let chain = dir.jump_chain(&web).unwrap();
        let hops: Vec<_> = chain
            .iter()
            .map(|t| (t.hostname.as_str(), t.user.as_deref(), t.port))
            .collect();
        assert_eq!(
            hops,
            [
                ("outer", Some("alice"), 2201),
                ("bastion.example.com", Some("jump"), 22)
            ]
        );
        let looped = dir.resolve("loop1").unwrap();
        assert!(matches!(
            dir.jump_chain(&looped),
            Err(ConfigError::JumpLoop { .. })
        ));
    }

    #[test]
    fn defaults_expand_against_home() {
        let env = SshEnv {
            home: "/h".into(),
            auth_sock: None,
            local_user: Some("me".into()),
        };
        let mut t = SshTarget::new("a", "a");
        assert_eq!(
            t.identity_files_or_default(&env)[0],
            PathBuf::from("/h/.ssh/id_ed25519")
        );
        assert_eq!(
            t.known_hosts_files_or_default(&env)[0],
            PathBuf::from("/h/.ssh/known_hosts")
        );
        t.identity_files = vec!["~/k".into()];
        assert_eq!(t.identity_files_or_default(&env), [PathBuf::from("/h/k")]);
        assert_eq!(t.destination(&env), "me@a:22");
    }
}
