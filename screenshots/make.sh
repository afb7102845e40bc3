#!/usr/bin/env bash
# Regenerates the README screenshots from a real run of the real binary.
#
#   screenshots/make.sh          (from the repository root)
#
# Builds flightdeck and fake-agent, starts flightdeck in a private tmux server
# (socket "fdshots", 140x40) against a throwaway FLIGHTDECK_HOME and git repo,
# drives it with send-keys like a person would, waits for what should be on
# screen, and turns `tmux capture-pane -e` output into SVGs with ansi2svg.py.
# Needs: cargo, git, tmux, python3. Optional: rsvg-convert (PNG previews in
# /tmp/fdshots-png/).
set -euo pipefail

COLS=140
ROWS=40
SOCKET=fdshots
SESSION=fdshots
PNG_DIR=/tmp/fdshots-png

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=$ROOT/screenshots
cd "$ROOT"

for tool in cargo git tmux python3; do
    command -v "$tool" >/dev/null || { echo "make.sh: $tool is required" >&2; exit 1; }
done

log() { printf '\033[1;34m==>\033[0m %s\n' "$*" >&2; }

tm() { tmux -L "$SOCKET" "$@"; }

FD_HOME=''
DEMO_REPO=''
cleanup() {
    local rc=$?
    tm kill-server 2>/dev/null || true
    [[ -n $FD_HOME ]] && rm -rf "$FD_HOME"
    [[ -n $DEMO_REPO ]] && rm -rf "$DEMO_REPO"
    if ((rc != 0)); then
        echo "make.sh: FAILED (exit $rc); screenshots/ may be incomplete" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if tm has-session -t "$SESSION" 2>/dev/null; then
    echo "make.sh: tmux -L $SOCKET already has a session $SESSION (another run?)" >&2
    trap - EXIT
    exit 1
fi

# --- build -------------------------------------------------------------------
log "cargo build --release --bins"
cargo build --release --bins
FLIGHTDECK=$ROOT/target/release/flightdeck
FAKE_AGENT=$ROOT/target/release/fake-agent
[[ -x $FLIGHTDECK && -x $FAKE_AGENT ]] || { echo "make.sh: binaries missing" >&2; exit 1; }

# --- sandbox -----------------------------------------------------------------
FD_HOME=$(mktemp -d "${TMPDIR:-/tmp}/fdshots-home.XXXXXX")
DEMO_REPO=$(mktemp -d "${TMPDIR:-/tmp}/fdshots-demo.XXXXXX")

log "demo repo $DEMO_REPO"
mkdir -p "$DEMO_REPO/src"
cat >"$DEMO_REPO/README.md" <<'EOF'
# demo

A tiny parser, here so the agents have something to work on.
EOF
cat >"$DEMO_REPO/src/parser.rs" <<'EOF'
pub fn parse(input: &str) -> Vec<&str> {
    input.split_whitespace().collect()
}
EOF
git -C "$DEMO_REPO" init -q
git -C "$DEMO_REPO" add .
git -C "$DEMO_REPO" -c user.name=flightdeck -c user.email=flightdeck@example.invalid \
    -c commit.gpgsign=false commit -q -m "initial commit"

# Escapes a string for a TOML basic string.
toml_str() {
    local s=${1//\\/\\\\}
    printf '"%s"' "${s//\"/\\\"}"
}

mkdir -p "$FD_HOME/config"
cat >"$FD_HOME/config/config.toml" <<EOF
[[project]]
name = "demo"
path = $(toml_str "$DEMO_REPO")

[[agent]]
id = "fake"
name = "Fake agent"
binary = $(toml_str "$FAKE_AGENT")
headless = ["-p", "{prompt}"]
acp_check = ["acp", "--help"]
EOF

# Only git on PATH: the real agents installed on this machine (claude, codex,
# ...) must not show up in the pictures, so the fake agent is the only one.
mkdir -p "$FD_HOME/bin"
ln -s "$(command -v git)" "$FD_HOME/bin/git"

# --- tmux --------------------------------------------------------------------
# A private server without the user's ~/.tmux.conf.
term=tmux-256color
infocmp "$term" >/dev/null 2>&1 || term=screen-256color
launch=$(printf 'exec env FLIGHTDECK_HOME=%q PATH=%q TERM=%q COLORTERM=truecolor %q' \
    "$FD_HOME" "$FD_HOME/bin" "$term" "$FLIGHTDECK")
log "starting flightdeck in tmux -L $SOCKET (${COLS}x${ROWS})"
tm -f /dev/null new-session -d -s "$SESSION" -x "$COLS" -y "$ROWS" \
    -e "LANG=${LANG:-C.UTF-8}" "sleep 1000000"
tm set-option -g status off
tm set-option -g default-terminal "$term"
tm set-option -g remain-on-exit on
tm set-option -g window-size manual
tm resize-window -t "$SESSION" -x "$COLS" -y "$ROWS"
tm respawn-pane -k -t "$SESSION" "$launch"

PANE=$SESSION:0.0

screen() { tm capture-pane -p -t "$PANE" 2>/dev/null; }

pane_dead() { [[ $(tm display-message -p -t "$PANE" '#{pane_dead}' 2>/dev/null) == 1 ]]; }

die_with_screen() {
    echo "make.sh: $*" >&2
    echo "---- screen ----" >&2
    screen >&2 || echo "(no pane)" >&2
    echo "----------------" >&2
    if pane_dead; then
        echo "flightdeck exited with status $(tm display-message -p -t "$PANE" '#{pane_dead_status}')" >&2
    fi
    exit 1
}

# wait_for TEXT [TIMEOUT_SECONDS]: polls the screen until TEXT is on it.
wait_for() {
    local text=$1 timeout=${2:-10}
    local tries=$((timeout * 10))
    while ((tries-- > 0)); do
        if screen | grep -qF -- "$text"; then
            return 0
        fi
        pane_dead && die_with_screen "flightdeck exited while waiting for '$text'"
        sleep 0.1
    done
    die_with_screen "timed out after ${timeout}s waiting for '$text'"
}

# wait_gone TEXT [TIMEOUT_SECONDS]: polls the screen until TEXT is off it.
wait_gone() {
    local text=$1 timeout=${2:-10}
    local tries=$((timeout * 10))
    while ((tries-- > 0)); do
        if ! screen | grep -qF -- "$text"; then
            return 0
        fi
        pane_dead && die_with_screen "flightdeck exited while waiting for '$text' to go"
        sleep 0.1
    done
    die_with_screen "timed out after ${timeout}s waiting for '$text' to go away"
}

# settle: lets a just-satisfied condition finish drawing (≤0.3 s), then waits
# until two captures 0.1 s apart agree (timers may tick; then it moves on).
settle() {
    sleep 0.3
    local a b tries=30
    a=$(tm capture-pane -p -e -t "$PANE")
    while ((tries-- > 0)); do
        sleep 0.1
        b=$(tm capture-pane -p -e -t "$PANE")
        [[ $a == "$b" ]] && return 0
        a=$b
    done
    log "screen kept changing; capturing anyway"
}

keys() { tm send-keys -t "$PANE" "$@"; }
type_text() { tm send-keys -t "$PANE" -l -- "$1"; }

# shot NAME: the current screen as screenshots/NAME.svg.
shot() {
    local name=$1 size cols rows
    settle
    size=$(tm display-message -p -t "$PANE" '#{pane_width} #{pane_height}')
    read -r cols rows <<<"$size"
    tm capture-pane -p -e -t "$PANE" |
        python3 "$OUT/ansi2svg.py" --cols "$cols" --rows "$rows" --title "flightdeck" \
            >"$OUT/$name.svg.tmp"
    mv "$OUT/$name.svg.tmp" "$OUT/$name.svg"
    log "wrote screenshots/$name.svg"
}

# dispatch PROMPT: opens the dialog, types PROMPT and starts the task.
dispatch() {
    keys n
    wait_for "New task"
    type_text "$1"
    wait_for "$1"
    keys C-s
    wait_gone "New task"
}

# --- the run -----------------------------------------------------------------
wait_for "Tasks" 20
wait_for "Agents"
wait_for "1.2.3" 20 # the fake agent has been probed

log "dispatching tasks"
dispatch "refactor the parser lines=25 progress title=refactor"
wait_for "#1 fake"
wait_for "exited 0" 20

dispatch "review the diff flood=3K idle"
wait_for "#2 fake"
wait_for "idle: waiting" 20

dispatch "add tests for the cache progress lines=24 ask"
wait_for "#3 fake"
wait_for "Proceed with the plan? [y/n]" 20
shot dashboard

log "dispatch dialog"
keys n
wait_for "New task"
type_text "Split the config loader in two:"
keys Enter
type_text "  - parse() keeps the TOML spans for errors"
keys Enter
type_text "  - validate() checks ranges and key bindings"
keys Enter
keys Enter
type_text "Run cargo test when done."
wait_for "Run cargo test when done."
shot dispatch
keys Escape
wait_gone "New task"

log "attach"
keys Enter
wait_for "attached to #3"
wait_for "Proceed with the plan? [y/n]"
shot attach
keys 'C-]'
wait_gone "attached to #"
wait_for "Tasks"

log "grid"
dispatch "write the changelog flood=2K idle"
wait_for "#4 fake"
wait_for "idle: waiting" 20
keys g
wait_gone "Agents"
shot grid
keys g
wait_for "Agents"

log "help"
type_text "?"
wait_for "Help"
shot help
keys Escape
wait_gone "Any key closes this"

log "quitting"
keys q
wait_for "Stop them and quit?"
keys y
for ((i = 0; i < 200; i++)); do
    pane_dead && break
    sleep 0.1
done
pane_dead || die_with_screen "flightdeck did not exit after q, y"
status=$(tm display-message -p -t "$PANE" '#{pane_dead_status}')
[[ $status == 0 ]] || die_with_screen "flightdeck exited with status $status"

if command -v rsvg-convert >/dev/null; then
    mkdir -p "$PNG_DIR"
    for name in dashboard dispatch attach grid help; do
        rsvg-convert "$OUT/$name.svg" -o "$PNG_DIR/$name.png"
    done
    log "PNG previews in $PNG_DIR"
fi

ls -l "$OUT"/*.svg >&2
log "done"
