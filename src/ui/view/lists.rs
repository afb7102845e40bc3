//! The three lists on the left: projects, agents, tasks.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState};

use super::theme;
use crate::attention::ActivityState;
use crate::clock::format_duration;
use crate::protocol::HostState;
use crate::protocol::task::{Applied, TaskState, Workspace};
use crate::ui::layout;
use crate::ui::state::{Focus, State};

fn block(title: Line<'static>, focused: bool) -> Block<'static> {
    Block::bordered()
        .border_style(theme::border(focused))
        .title(title)
}

fn render_list(
    frame: &mut Frame,
    area: Rect,
    block: Block<'static>,
    items: Vec<ListItem<'static>>,
    selected: usize,
    focused: bool,
) {
    let inner = layout::inner(area);
    let offset = layout::list_offset(selected, items.len(), inner.height);
    let mut list_state = ListState::default()
        .with_offset(offset)
        .with_selected((!items.is_empty()).then_some(selected));
    let list = List::new(items)
        .block(block)
        .highlight_style(theme::selected(focused));
    frame.render_stateful_widget(list, area, &mut list_state);
}

pub fn projects(frame: &mut Frame, area: Rect, state: &State) {
    let focused = state.focus == Focus::Projects;
    let items = state
        .projects
        .iter()
        .zip(
            state
                .project_status
                .iter()
                .chain(std::iter::repeat(&Default::default())),
        )
        .map(|(p, status)| {
            let mut spans = vec![Span::raw(format!(" {} ", p.name))];
            if !status.exists {
                spans.push(Span::styled("missing ", theme::error()));
            } else if !status.git {
                spans.push(Span::styled("not git ", theme::dim()));
            }
            let place = match &p.host {
                Some(host) => format!("{host}:{}", p.path.display()),
                None => p.path.display().to_string(),
            };
            spans.push(Span::styled(place, theme::dim()));
            ListItem::new(Line::from(spans))
        })
        .collect::<Vec<_>>();
    let title = Line::from(vec![Span::styled(" Projects ", theme::title(focused))]);
    if items.is_empty() {
        let empty = vec![ListItem::new(Line::styled(
            " none: `flightdeck project add DIR` (? shows the config file)",
            theme::dim(),
        ))];
        return render_list(frame, area, block(title, focused), empty, 0, false);
    }
    render_list(
        frame,
        area,
        block(title, focused),
        items,
        state.selected_project,
        focused,
    );
}

pub fn hosts(frame: &mut Frame, area: Rect, state: &State) {
    let focused = state.focus == Focus::Hosts;
    let width = state
        .hosts
        .iter()
        .map(|h| h.name.chars().count())
        .max()
        .unwrap_or(0);
    let items = state
        .hosts
        .iter()
        .map(|h| {
            let (dot, style, detail) = match &h.state {
                HostState::Local => ("●", theme::ok(), h.destination.clone()),
                HostState::Connected { rtt_ms } => ("●", theme::ok(), format!("{rtt_ms} ms")),
                HostState::Connecting => (
                    "◌",
                    Style::default().fg(Color::Yellow),
                    "connecting…".into(),
                ),
                HostState::Idle => ("○", theme::dim(), h.destination.clone()),
                HostState::Failed { error } => ("✗", theme::error(), error.clone()),
            };
            let agents = state
                .probe(&h.name)
                .filter(|p| p.error.is_none())
                .map(|p| match p.agents.iter().filter(|a| a.found).count() {
                    1 => "1 agent ".to_string(),
                    n => format!("{n} agents "),
                })
                .unwrap_or_default();
            let name_style = if h.configured {
                Style::default()
            } else {
                theme::dim()
            };
            ListItem::new(Line::from(vec![
                Span::styled(format!(" {dot} "), style),
                Span::styled(format!("{:<width$} ", h.name), name_style),
                Span::styled(agents, Style::default().fg(theme::ACCENT)),
                Span::styled(
                    detail,
                    if matches!(h.state, HostState::Failed { .. }) {
                        theme::error()
                    } else {
                        theme::dim()
                    },
                ),
            ]))
        })
        .collect::<Vec<_>>();
    let connected = state
        .hosts
        .iter()
        .filter(|h| matches!(h.state, HostState::Local | HostState::Connected { .. }))
        .count();
    let title = Line::from(vec![
        Span::styled(" Hosts ", theme::title(focused)),
        Span::styled(
            format!("{connected}/{} up ", state.hosts.len()),
            theme::dim(),
        ),
    ]);
    render_list(
        frame,
        area,
        block(title, focused),
        items,
        state.selected_host,
        focused,
    );
}

pub fn agents(frame: &mut Frame, area: Rect, state: &State) {
    let focused = state.focus == Focus::Agents;
    let rows = state.agent_rows();
    let name_width = rows.iter().map(|r| r.agent.id.len()).max().unwrap_or(0);
    let items = rows
        .iter()
        .map(|row| {
            let id = format!("{:<name_width$}", row.agent.id);
            let line = match row.probe {
                Some(p) if p.found => {
                    let mut spans = vec![
                        Span::styled(" ✓ ", theme::ok()),
                        Span::raw(id),
                        Span::raw(format!(" {}", p.version.as_deref().unwrap_or("?"))),
                    ];
                    if p.acp == Some(true) {
                        spans.push(Span::styled(" acp", Style::default().fg(theme::ACCENT)));
                    }
                    if let Some(e) = &p.error {
                        spans.push(Span::styled(
                            format!(" {e}"),
                            Style::default().fg(ratatui::style::Color::Yellow),
                        ));
                    }
                    Line::from(spans)
                }
                Some(_) => Line::from(vec![
                    Span::styled(" · ", theme::dim()),
                    Span::styled(id, theme::dim()),
                    Span::styled(" not found", theme::dim()),
                ]),
                None => Line::from(vec![Span::raw("   "), Span::raw(id)]),
            };
            ListItem::new(line)
        })
        .collect::<Vec<_>>();
    let found = rows.iter().filter(|r| r.found()).count();
    let host = state.host();
    let probing = state.probing.contains(host);
    let status = match (state.probe(host), probing) {
        (_, true) => "probing…".to_string(),
        (Some(p), false) if p.error.is_some() => {
            let title = Line::from(vec![
                Span::styled(format!(" Agents on {host} "), theme::title(focused)),
                Span::styled("probe failed (r retries) ", theme::error()),
            ]);
            let error = p.error.clone().unwrap_or_default();
            let items = vec![ListItem::new(Line::styled(
                format!(" {error}"),
                theme::error(),
            ))];
            return render_list(frame, area, block(title, focused), items, 0, false);
        }
        (Some(p), false) => format!(
            "{found}/{} · {} ago",
            rows.len(),
            format_duration(state.now_ms.saturating_sub(p.probed_ms))
        ),
        (None, false) => "not probed (r)".to_string(),
    };
    let title = Line::from(vec![
        Span::styled(format!(" Agents on {host} "), theme::title(focused)),
        Span::styled(format!("{status} "), theme::dim()),
    ]);
    render_list(
        frame,
        area,
        block(title, focused),
        items,
        state.selected_agent,
        focused,
    );
}

/// `3f +120 −4` and what became of the change, for the tasks list.
fn workspace_spans(workspace: &Workspace) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    if let Some(applied) = &workspace.applied {
        let style = match applied {
            Applied::Conflicted { .. } => theme::error(),
            _ => Style::default().fg(theme::ACCENT),
        };
        spans.push(Span::styled(format!("{} ", applied.label()), style));
    }
    if let Some(d) = workspace.diff.filter(|d| d.files > 0) {
        spans.push(Span::styled(format!("{}f ", d.files), theme::dim()));
        spans.push(Span::styled(format!("+{} ", d.added), theme::ok()));
        spans.push(Span::styled(format!("−{} ", d.removed), theme::error()));
    }
    spans
}

/// A task row's parts in their order, each with how readily it goes when
/// the row is wider than the list (0: never; higher goes first).
fn fit_row(width: usize, parts: Vec<(u8, Vec<Span<'static>>)>) -> Line<'static> {
    let wide = |parts: &[(u8, Vec<Span<'static>>)]| -> usize {
        parts.iter().flat_map(|(_, s)| s).map(Span::width).sum()
    };
    let mut parts = parts;
    while wide(&parts) > width {
        let Some(drop) = parts.iter().map(|(p, _)| *p).filter(|p| *p > 0).max() else {
            break;
        };
        parts.retain(|(p, _)| *p != drop);
    }
    Line::from(parts.into_iter().flat_map(|(_, s)| s).collect::<Vec<_>>())
}

pub fn tasks(frame: &mut Frame, area: Rect, state: &State) {
    let focused = state.focus == Focus::Tasks;
    let width = layout::inner(area).width as usize;
    let agent_width = state
        .tasks
        .iter()
        .map(|t| t.spec.agent.len())
        .max()
        .unwrap_or(0);
    let items = state
        .tasks
        .iter()
        .map(|t| {
            let duration = t
                .duration_ms(state.now_ms)
                .map(format_duration)
                .unwrap_or_default();
            let (glyph, glyph_style) = theme::task_glyph(t);
            // While it runs, what it does and for how long; then its end.
            let (label, style, duration) = match t.live_activity() {
                Some(a) if t.state == TaskState::Running => (
                    a.state.label().to_string(),
                    theme::activity(a.state),
                    format_duration(state.now_ms.saturating_sub(a.since_ms)),
                ),
                _ => (t.state.label(), theme::state(&t.state), duration),
            };
            // On a narrow list the duration goes first, then the diff
            // size, then the agent: id, state and project always show.
            let row = fit_row(
                width,
                vec![
                    (
                        0,
                        vec![Span::styled(format!(" #{:<3}", t.id), theme::dim())],
                    ),
                    (0, vec![Span::styled(format!("{glyph} "), glyph_style)]),
                    (
                        1,
                        vec![Span::raw(format!("{:<agent_width$} ", t.spec.agent))],
                    ),
                    (0, vec![Span::styled(format!("{label} "), style)]),
                    (3, vec![Span::styled(format!("{duration} "), theme::dim())]),
                    (2, workspace_spans(&t.workspace)),
                    (0, vec![Span::styled(t.spec.project.clone(), theme::dim())]),
                ],
            );
            ListItem::new(row)
        })
        .collect::<Vec<_>>();
    let mut title = vec![
        Span::styled(" Tasks ", theme::title(focused)),
        Span::styled(
            format!("{} live / {} ", state.live_tasks(), state.tasks.len()),
            theme::dim(),
        ),
    ];
    let waiting = state.tasks.iter().filter(|t| t.needs_user()).count();
    if waiting > 0 {
        title.push(Span::styled(
            format!("· {waiting} need you "),
            theme::activity(ActivityState::Waiting),
        ));
    }
    if state.attention_first {
        title.push(Span::styled("· needs-you first ", theme::dim()));
    }
    let title = Line::from(title);
    if items.is_empty() {
        let empty = vec![ListItem::new(Line::styled(
            " none yet: press n",
            theme::dim(),
        ))];
        return render_list(frame, area, block(title, focused), empty, 0, false);
    }
    render_list(
        frame,
        area,
        block(title, focused),
        items,
        state.selected_task_index(),
        focused,
    );
}
