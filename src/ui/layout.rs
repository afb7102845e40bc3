//! Where things go on screen. Pure functions of the terminal size, shared by
//! the views (to draw) and by `update` (to size PTYs and map mouse clicks).

use ratatui::layout::{Constraint, Layout, Rect};

/// Below this the dashboard cannot be drawn legibly; a message says so instead.
pub const MIN_WIDTH: u16 = 72;
pub const MIN_HEIGHT: u16 = 18;

pub fn too_small(area: Rect) -> bool {
    area.width < MIN_WIDTH || area.height < MIN_HEIGHT
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dashboard {
    pub projects: Rect,
    pub hosts: Rect,
    pub agents: Rect,
    pub tasks: Rect,
    /// The live pane's frame; `pane_inner` is what the PTY gets.
    pub pane: Rect,
    pub pane_inner: Rect,
    pub status: Rect,
}

pub fn dashboard(area: Rect, projects: usize, hosts: usize) -> Dashboard {
    let [main, status] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    let left_width = (main.width / 3).clamp(34, 48);
    let [left, pane] =
        Layout::horizontal([Constraint::Length(left_width), Constraint::Min(1)]).areas(main);
    let project_rows = (projects.max(1) as u16 + 2).min(left.height / 4).max(3);
    let host_rows = (hosts.max(1) as u16 + 2).min(left.height / 5).max(3);
    let [projects, hosts, agents, tasks] = Layout::vertical([
        Constraint::Length(project_rows),
        Constraint::Length(host_rows),
        Constraint::Percentage(35),
        Constraint::Min(4),
    ])
    .areas(left);
    Dashboard {
        projects,
        hosts,
        agents,
        tasks,
        pane,
        pane_inner: inner(pane),
        status,
    }
}

/// Cells for `n` panes in grid mode (at most as many as fit legibly), plus
/// the status line.
pub fn grid(area: Rect, n: usize) -> (Vec<Rect>, Rect) {
    let [main, status] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    let (cols, rows) = grid_shape(main, n);
    let row_areas = Layout::vertical(vec![Constraint::Ratio(1, rows as u32); rows]).split(main);
    let cells = row_areas
        .iter()
        .flat_map(|row| {
            Layout::horizontal(vec![Constraint::Ratio(1, cols as u32); cols])
                .split(*row)
                .to_vec()
        })
        .take(n.min(cols * rows))
        .collect();
    (cells, status)
}

/// Columns and rows for `n` panes: a square-ish grid, each pane at least 24×6.
pub fn grid_shape(area: Rect, n: usize) -> (usize, usize) {
    let max_cols = (area.width / 24).max(1) as usize;
    let max_rows = (area.height / 6).max(1) as usize;
    let n = n.clamp(1, max_cols * max_rows);
    let mut cols = ((n as f64).sqrt().ceil() as usize).clamp(1, max_cols);
    let mut rows = n.div_ceil(cols);
    while rows > max_rows {
        cols += 1;
        rows = n.div_ceil(cols);
    }
    (cols.min(n), rows)
}

/// How many panes the grid can show at once.
pub fn grid_capacity(area: Rect) -> usize {
    let main_height = area.height.saturating_sub(1);
    ((area.width / 24).max(1) * (main_height / 6).max(1)) as usize
}

pub fn inner(r: Rect) -> Rect {
    Rect {
        x: r.x + 1,
        y: r.y + 1,
        width: r.width.saturating_sub(2),
        height: r.height.saturating_sub(2),
    }
}

/// The first visible row of a list so that `selected` is on screen; views
/// and mouse hit-testing agree on it.
pub fn list_offset(selected: usize, len: usize, height: u16) -> usize {
    let height = height as usize;
    if height == 0 || len <= height {
        return 0;
    }
    selected.saturating_sub(height - 1).min(len - height)
}

/// A centred rectangle of at most `width`×`height`.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashboard_fits_and_pane_is_inside() {
        let d = dashboard(Rect::new(0, 0, 120, 40), 2, 1);
        assert_eq!(d.status, Rect::new(0, 39, 120, 1));
        assert!(d.pane.width > 70);
        assert_eq!(d.pane_inner.height, d.pane.height - 2);
        assert_eq!(d.projects.height, 4);
    }

    #[test]
    fn grid_shapes() {
        let area = Rect::new(0, 0, 200, 50);
        assert_eq!(grid_shape(area, 1), (1, 1));
        assert_eq!(grid_shape(area, 4), (2, 2));
        let (c, r) = grid_shape(area, 16);
        assert!(c * r >= 16 && r <= 8, "{c}x{r}");
        let (cells, _) = grid(area, 16);
        assert_eq!(cells.len(), 16);
        assert!(cells.iter().all(|c| c.width >= 24 && c.height >= 6));
    }

    #[test]
    fn list_offsets_keep_selection_visible() {
        assert_eq!(list_offset(0, 3, 10), 0);
        assert_eq!(list_offset(12, 20, 5), 8);
        assert_eq!(list_offset(19, 20, 5), 15);
    }
}
