//! The supervisor's housekeeping: probing hosts (and keeping the results
//! across restarts), installing agents,
//! rebuilding the screens of ended tasks, and shutting down cleanly.

use super::{Internal, SHUTDOWN_SLACK, Supervisor};
use crate::host::PtySize;
use crate::host::local::LOCAL;
use crate::probe::{self, HostProbe};
use crate::protocol::task::{TaskId, TaskRecord};
use crate::protocol::{DispatchRequest, Event, Level, WorkspaceChoice};
use crate::supervisor::screens::TaskScreen;

impl Supervisor {
    pub(super) fn replay(&mut self, id: TaskId, size: PtySize) {
        if self.screens.get(id).is_some() {
            return;
        }
        let Some(record) = self.records.get(&id) else {
            return;
        };
        let path = record.log_path.clone();
        let scrollback = self.config.settings.scrollback_lines;
        let screens = self.screens.clone();
        tokio::task::spawn_blocking(move || {
            screens.insert(id, TaskScreen::from_log(&path, None, size, scrollback));
        });
    }

    /// Probes one host, or this machine and every configured host.
    pub(super) fn probe(&mut self, only: Option<String>) {
        let names = match only {
            Some(name) => vec![name],
            None => std::iter::once(LOCAL.to_string())
                .chain(self.hosts.configured())
                .collect(),
        };
        for name in names {
            let host = match self.hosts.get(&name) {
                Ok(host) => host,
                Err(e) => {
                    self.notice(Level::Error, e);
                    continue;
                }
            };
            let catalog = self.config.settings.catalog.clone();
            let timeout = self.config.settings.probe_timeout;
            let tx = self.internal_tx.clone();
            tokio::spawn(async move {
                let probe = probe::probe_host(host.as_ref(), &catalog, timeout).await;
                let _ = tx.send(Internal::Probed(probe));
            });
        }
    }

    /// Installs `agent` on `host` with its catalog recipe, as a task whose
    /// pane shows the progress; the host is probed again when it ends.
    pub(super) fn install(&mut self, host: String, agent: String) {
        let Some(spec) = self.config.settings.catalog.get(&agent).cloned() else {
            return self.notice(Level::Error, format!("unknown agent {agent:?}"));
        };
        let Some(script) = spec.install_script() else {
            let why = format!(
                "{} has no install recipe for its configured command `{}`; install it yourself",
                spec.name, spec.binary
            );
            return self.notice(Level::Error, why);
        };
        let env = self
            .probes
            .get(&host)
            .and_then(|p| p.path.clone())
            .map(|path| vec![("PATH".to_string(), path)])
            .unwrap_or_default();
        let id = self.next_id;
        self.installs.insert(id, host.clone());
        self.dispatch(DispatchRequest {
            token: None,
            spec: crate::protocol::task::TaskSpec {
                project: "(install)".into(),
                agent,
                host,
                mode: crate::catalog::RunMode::Headless,
                prompt: String::new(),
                argv: vec!["sh".into(), "-c".into(), script],
            },
            cwd: "/".into(),
            env,
            size: PtySize {
                rows: 24,
                cols: 100,
            },
            workspace: WorkspaceChoice::InPlace,
            setup: None,
        });
    }

    pub(super) fn begin_shutdown(&mut self) {
        if self.shutting_down {
            return;
        }
        self.shutting_down = true;
        let live: Vec<TaskId> = self
            .records
            .values()
            .filter(|r| r.state.is_live())
            .map(|r| r.id)
            .collect();
        for id in live {
            self.stop(id);
        }
        let tx = self.internal_tx.clone();
        let cap = self.config.settings.stop_grace + SHUTDOWN_SLACK;
        tokio::spawn(async move {
            tokio::time::sleep(cap).await;
            let _ = tx.send(Internal::ShutdownDeadline);
        });
    }

    pub(super) fn shutdown_complete(&self) -> bool {
        self.draining.is_empty() && !self.records.values().any(|r| r.state.is_live())
    }

    pub(super) fn finish_shutdown(&mut self) {
        let records: Vec<TaskRecord> = self.records.values().cloned().collect();
        if let Err(e) = self.saver.save_now(records) {
            tracing::error!("final save failed: {e}");
        }
        let _ = self.events.send(Event::ShutDown);
    }

    /// The probes a previous daemon saved (with their age): a dashboard
    /// that reconnects after a restart still knows which agents are there.
    pub(super) fn load_probes(&mut self) {
        match crate::store::load_json::<Vec<HostProbe>>(&self.config.paths.probes_file()) {
            Ok(probes) => {
                for probe in probes.unwrap_or_default() {
                    self.probes.insert(probe.host.clone(), probe);
                }
            }
            // Only a cache: the next probe writes it afresh.
            Err(e) => tracing::warn!("{e}; probing again"),
        }
    }

    pub(super) fn save_probes(&self) {
        let probes: Vec<&HostProbe> = self.probes.values().collect();
        if let Err(e) = crate::store::save_json(&self.config.paths.probes_file(), &probes) {
            tracing::warn!("cannot save probe results: {e}");
        }
    }
}
