//! Permission requests waiting on a person: held until a dashboard or
//! `flightdeck approve`/`deny` answers, the time set in `approval_timeout_secs`
//! runs out, or the task ends. With no dashboard there to ask, the request
//! is handed back at once and the agent asks in its own UI.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{Internal, Supervisor};
use crate::attention::approval::{ApprovalRequest, Decision, PendingApproval};
use crate::clock::now_ms;
use crate::protocol::task::TaskId;
use crate::protocol::{Event, Level};

/// The supervisor's approvals: those open, who can answer, and the tools a
/// user allowed for the rest of a task.
#[derive(Default)]
pub struct Approvals {
    open: BTreeMap<u64, PendingApproval>,
    /// Clients that show approval cards (dashboards).
    approvers: usize,
    always: HashMap<TaskId, HashSet<String>>,
}

impl Approvals {
    pub fn pending(&self) -> Vec<PendingApproval> {
        self.open.values().cloned().collect()
    }
}

impl Supervisor {
    pub(super) fn request_approval(&mut self, token: u64, task: TaskId, request: ApprovalRequest) {
        let live = self.records.get(&task).is_some_and(|r| r.state.is_live());
        let always = self
            .approvals
            .always
            .get(&task)
            .is_some_and(|tools| tools.contains(&request.tool));
        let decision = match (live, always, self.approvals.approvers) {
            (false, _, _) => Some(Decision::StepAside),
            (true, true, _) => Some(Decision::AllowAlways),
            (true, false, 0) => Some(Decision::StepAside),
            _ => None,
        };
        if let Some(decision) = decision {
            return self.close_approval_now(token, task, decision);
        }
        let pending = PendingApproval {
            token,
            task,
            request,
            since_ms: now_ms(),
        };
        self.approvals.open.insert(token, pending.clone());
        let _ = self.events.send(Event::Approval(pending));
        let (tx, timeout) = (
            self.internal_tx.clone(),
            self.config.settings.approval_timeout,
        );
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            let _ = tx.send(Internal::ApprovalDeadline { token });
        });
    }

    pub(super) fn answer_approval(&mut self, task: TaskId, token: Option<u64>, decision: Decision) {
        let token = token.or_else(|| {
            let oldest = self.approvals.open.values().filter(|p| p.task == task);
            oldest.min_by_key(|p| p.since_ms).map(|p| p.token)
        });
        let Some(pending) = token.and_then(|t| self.approvals.open.remove(&t)) else {
            return self.notice(
                Level::Error,
                format!("task #{task} asks for no permission now"),
            );
        };
        if decision == Decision::AllowAlways {
            let tools = self.approvals.always.entry(pending.task).or_default();
            tools.insert(pending.request.tool.clone());
        }
        tracing::info!(task = pending.task, tool = %pending.request.tool, "permission {}", decision.label());
        self.close_approval_now(pending.token, pending.task, decision);
    }

    pub(super) fn approver(&mut self, present: bool) {
        let approvers = &mut self.approvals.approvers;
        *approvers = match present {
            true => *approvers + 1,
            false => approvers.saturating_sub(1),
        };
    }

    /// Nobody answered in time: the agent's own prompt takes over.
    pub(super) fn approval_deadline(&mut self, token: u64) {
        if let Some(pending) = self.approvals.open.remove(&token) {
            self.close_approval_now(token, pending.task, Decision::StepAside);
        }
    }

    /// A task ended: its requests are moot, and its "always" with it.
    pub(super) fn approvals_end(&mut self, task: TaskId) {
        let tokens: Vec<u64> = self
            .approvals
            .open
            .values()
            .filter(|p| p.task == task)
            .map(|p| p.token)
            .collect();
        for token in tokens {
            self.approvals.open.remove(&token);
            self.close_approval_now(token, task, Decision::StepAside);
        }
        self.approvals.always.remove(&task);
    }

    fn close_approval_now(&self, token: u64, task: TaskId, decision: Decision) {
        let _ = self.events.send(Event::ApprovalClosed {
            token,
            task,
            decision,
        });
    }
}
