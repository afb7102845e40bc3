#!/usr/bin/env bash
# Regenerates the README screenshots from a real run of the real binary.
#
#   screenshots/make.sh          (from the repository root)
#
# Builds flightdeck and fake-agent, starts flightdeck in a private tmux server
# (socket "fdshots", 140x40) against a throwaway FLIGHTDECK_HOME and git repo,
# drives it with send-keys like a person would, waits for what should be on
# screen, and turns `tmux capture-pane -e` output into SVGs with ansi2svg.py:
# dashboard, dispatch, help, attach, grid, review and approval .svg in screenshots/. At the end
# (and on any failure) it quits flightdeck stopping its tasks, stops the
# daemon of the throwaway FLIGHTDECK_HOME, kills the tmux server and removes
# the temp dirs.
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
FLIGHTDECK=$ROOT/target/release/flightdeck
FAKE_AGENT=$ROOT/target/release/fake-agent

# alive PID PREFIX: PID is running and its command line starts with PREFIX
# (so a recycled pid is never signalled).
alive() {
    local args
    args=$(ps -o args= -p "$1" 2>/dev/null) || return 1
    [[ $args == "$2"* ]]
}

# stop_daemon: flightdeck runs its agents in a background daemon (one per
# FLIGHTDECK_HOME, pid in run/daemon.pid) that outlives the TUI. SIGTERM
# makes it stop its agents and exit; whatever is left after 10 s is killed.
stop_daemon() {
    [[ -n $FD_HOME ]] || return 0
    local pid='' i p pids=()
    [[ -s $FD_HOME/run/daemon.pid ]] && pid=$(tr -dc 0-9 <"$FD_HOME/run/daemon.pid")
    if [[ -n $pid ]] && alive "$pid" "$FLIGHTDECK"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do
            alive "$pid" "$FLIGHTDECK" || break
            sleep 0.1
        done
        if alive "$pid" "$FLIGHTDECK"; then
            echo "make.sh: daemon $pid ignored SIGTERM; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    # Agents it may have left behind (each runs in its own session).
    if [[ -s $FD_HOME/state/tasks.json ]]; then
        while read -r p; do
            pids+=("$p")
        done < <(sed -n 's/.*"pid": *\([0-9][0-9]*\).*/\1/p' "$FD_HOME/state/tasks.json")
    fi
    for p in ${pids[@]+"${pids[@]}"}; do
        if alive "$p" "$FAKE_AGENT"; then
            echo "make.sh: agent $p outlived flightdeck; killing it" >&2
            kill -KILL "$p" 2>/dev/null || true
        fi
    done
}

cleanup() {
    local rc=$?
    tm kill-server 2>/dev/null || true
    stop_daemon
    [[ -n $FD_HOME ]] && rm -rf "$FD_HOME"
    [[ -n $DEMO_REPO ]] && rm -rf "$DEMO_REPO"
    rm -f "$OUT"/*.svg.tmp
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
hooks = "claude"
EOF

# --- tmux --------------------------------------------------------------------
# A private server without the user's ~/.tmux.conf. The session starts with a
# placeholder so the options (no status line, keep the pane if flightdeck dies
# so its last screen can be shown) are set before flightdeck runs.
term=tmux-256color
infocmp "$term" >/dev/null 2>&1 || term=screen-256color
# flightdeck's exit status goes to a file: tmux's #{pane_dead_status} is not
# always filled in when remain-on-exit keeps the dead pane.
EXIT_FILE=$FD_HOME/flightdeck.exit
launch=$(printf 'env FLIGHTDECK_HOME=%q TERM=%q COLORTERM=truecolor %q; echo $? >%q' \
    "$FD_HOME" "$term" "$FLIGHTDECK" "$EXIT_FILE")
log "starting flightdeck in tmux -L $SOCKET (${COLS}x${ROWS})"
tm -f /dev/null new-session -d -s "$SESSION" -x "$COLS" -y "$ROWS" "sleep 1000000"
tm set-option -g status off
tm set-option -g default-shell /bin/sh
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
    if [[ -s $EXIT_FILE ]]; then
        echo "flightdeck exited with status $(cat "$EXIT_FILE")" >&2
    elif pane_dead; then
        echo "flightdeck is gone" >&2
    fi
    exit 1
}

# wait_for TEXT [TIMEOUT_SECONDS]: polls the screen until TEXT is on it.
wait_for() {
    local text=$1 timeout=${2:-10}
    local tries=$((timeout * 10))
    while ((tries-- > 0)); do
        [[ $(screen) == *"$text"* ]] && return 0
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
        [[ $(screen) == *"$text"* ]] || return 0
        pane_dead && die_with_screen "flightdeck exited while waiting for '$text' to go"
        sleep 0.1
    done
    die_with_screen "timed out after ${timeout}s waiting for '$text' to go away"
}

# settle: lets a just-satisfied condition finish drawing (≤0.3 s), then waits
# until the screen has held still for 0.45 s (three equal captures 0.15 s
# apart). Timers tick once a second, so this passes quickly; if it never
# does within 6 s, it captures anyway.
settle() {
    sleep 0.3
    local a b same=0 tries=40
    a=$(tm capture-pane -p -e -t "$PANE")
    while ((tries-- > 0)); do
        sleep 0.15
        b=$(tm capture-pane -p -e -t "$PANE")
        if [[ $a == "$b" ]]; then
            ((++same >= 3)) && return 0
        else
            same=0
        fi
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

# use_fake_agent: in the open dialog, makes sure the agent is the fake one.
# It is the default when it is the only agent installed; real agents found on
# this machine could come first, and must never get these prompts.
use_fake_agent() {
    [[ $(screen) == *"◂ fake ▸"* ]] && return 0
    keys Tab Tab # Prompt -> Project -> Agent
    local i j before
    for ((i = 0; i < 30; i++)); do
        before=$(screen)
        [[ $before == *"◂ fake ▸"* ]] && break
        keys Right
        for ((j = 0; j < 20; j++)); do # until the dialog shows the next agent
            [[ $(screen) != "$before" ]] && break
            sleep 0.1
        done
    done
    wait_for "◂ fake ▸" 2
    keys BTab BTab # back to Prompt
}

# dispatch PROMPT: opens the dialog, types PROMPT and starts the task.
dispatch() {
    keys n
    wait_for "New task"
    use_fake_agent
    type_text "$1"
    wait_for "${1:0:40}" # long prompts wrap in the editor
    wait_for "◂ fake ▸" 1
    wait_for "◂ interactive ▸" 1
    keys C-s
    wait_gone "New task"
}

# --- the run -----------------------------------------------------------------
wait_for "Tasks" 20
wait_for "Agents"
wait_for "1.2.3" 20 # the fake agent has been probed

log "dispatching tasks"
# Task #1 edits the demo repo in its worktree, for the review screenshot.
PARSER='pub\sfn\sparse(input:\s&str)\s->\sVec<String>\s{\n\s\s\s\s//\sSplit\son\swhitespace,\sdrop\sempty\stokens.\n\s\s\s\sinput\n\s\s\s\s\s\s\s\s.split_whitespace()\n\s\s\s\s\s\s\s\s.map(str::to_owned)\n\s\s\s\s\s\s\s\s.collect()\n}\n'
NOTES='#\sParser\snotes\n\nTokens\sare\sowned\sstrings\snow.\n'
dispatch "refactor the parser lines=25 progress write:src/parser.rs=$PARSER write:NOTES.md=$NOTES"
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
use_fake_agent
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

# Help over the dashboard; taken before the grid and attach change the pane
# sizes (see grid below).
log "help"
type_text "?"
wait_for "Help"
wait_for "other key closes this"
shot help
keys Escape
wait_gone "other key closes this"

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
wait_for "Proceed with the plan? [y/n]"
wait_for "done."
shot grid
keys g
wait_for "Agents"

log "review"
# The task list is newest first: #1 is at the bottom.
for _ in 1 2 3 4; do keys j; done
keys d
wait_for "Review #1"
wait_for "src/parser.rs"
keys j
wait_for "@@"
keys Tab
shot review
keys Escape
wait_for "Agents"

log "approval"
dispatch "run the tests progress lines=12 hook=PermissionRequest:Bash:cargo\\stest\\s--all-targets idle"
wait_for "#5 fake"
wait_for "Permission request" 20
wait_for "wants to use Bash"
shot approval
keys 1
wait_for "permission allowed"
wait_gone "Permission request"

log "quitting"
keys q
wait_for "s  stop them and quit"
keys s
for ((i = 0; i < 300; i++)); do # stopping tasks may take the grace period
    [[ -s $EXIT_FILE ]] && break
    sleep 0.1
done
[[ -s $EXIT_FILE ]] || die_with_screen "flightdeck did not exit after q, y"
status=$(cat "$EXIT_FILE")
[[ $status == 0 ]] || die_with_screen "flightdeck did not exit cleanly"

if command -v rsvg-convert >/dev/null; then
    mkdir -p "$PNG_DIR"
    for name in dashboard dispatch attach grid help review approval; do
        rsvg-convert "$OUT/$name.svg" -o "$PNG_DIR/$name.png"
    done
    log "PNG previews in $PNG_DIR"
fi

ls -l "$OUT"/*.svg >&2
log "done"
