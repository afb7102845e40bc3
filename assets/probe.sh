# flightdeck agent probe: POSIX sh, run as one exec on the probed host.
# Output: tab-separated records starting with "@@fd"; everything else (login
# banners, profile chatter) is ignored by the parser. Byte strings are hex
# encoded with od so any output survives the trip.

fd_tmp=$(mktemp -d 2>/dev/null || mktemp -d -t fdprobe)
trap 'rm -rf "$fd_tmp"' EXIT

# PATH as an interactive login shell would have it (nvm, ~/.local/bin …),
# added after ours so what we were started with still wins.
# An interactive shell grabs the controlling terminal (and is stopped by
# SIGTTOU if it cannot): run it in a new session, or non-interactively.
fd_login_path() {
  fd_shell=${SHELL:-/bin/sh}
  if command -v setsid >/dev/null 2>&1; then set -- setsid "$fd_shell" -lic; else set -- "$fd_shell" -lc; fi
  ( "$@" 'printf "\n@@fdpath=%s\n" "$PATH"' </dev/null >"$fd_tmp/login" 2>/dev/null & fd_pid=$!
    ( sleep 5; kill -9 "$fd_pid" 2>/dev/null ) >/dev/null 2>&1 &
    wait "$fd_pid" ) >/dev/null 2>&1
  sed -n 's/^@@fdpath=//p' "$fd_tmp/login" 2>/dev/null | tail -n 1
}
fd_path_add() {
  case ":$PATH:" in *":$1:"*) ;; *) [ -d "$1" ] && PATH="$PATH:$1" ;; esac
}
fd_old_ifs=$IFS; IFS=:
for fd_dir in $(fd_login_path) "$HOME/.local/bin" "$HOME/bin" "$HOME/.npm-global/bin" \
  "$HOME/.cargo/bin" "$HOME/.bun/bin" "$HOME/.opencode/bin" "$HOME/.deno/bin" /usr/local/bin \
  /opt/homebrew/bin; do
  IFS=$fd_old_ifs; fd_path_add "$fd_dir"; IFS=:
done
IFS=$fd_old_ifs
for fd_nvm in "${NVM_DIR:-$HOME/.nvm}"/versions/node/*/bin; do
  [ -d "$fd_nvm" ] && fd_path_add "$fd_nvm"
done
export PATH
printf '@@fd\tpath\t-\t%s\n' "$PATH"

fd_hex() { od -An -v -tx1 -N4096 | tr -d ' \n'; }

# Runs "$@" with stdin closed and a time limit; exit 124 on timeout. In a
# session of its own where setsid exists: no controlling terminal, so an
# agent that writes to /dev/tty cannot print into the user's shell or read
# its keys. (A background job here is no group leader: setsid execs in
# place, and $fd_pid stays the agent's.)
if command -v setsid >/dev/null 2>&1; then fd_alone=setsid; else fd_alone=; fi
fd_run_limited() {
  fd_out=$1; shift
  $fd_alone "$@" </dev/null >"$fd_out" 2>&1 & fd_pid=$!
  # The marker is written before the kill, so it is there when wait returns.
  ( sleep "$fd_secs"; : >"$fd_out.timeout"; kill -9 "$fd_pid" 2>/dev/null ) >/dev/null 2>&1 &
  fd_watch=$!
  wait "$fd_pid"; fd_rc=$?
  kill "$fd_watch" 2>/dev/null
  [ "$fd_rc" -eq 137 ] && [ -e "$fd_out.timeout" ] && fd_rc=124
  return $fd_rc
}

# Sets fd_path to where agent $1's binary $2 is, if it is a file on PATH.
# Builtins and redirections only: most catalog agents are missing on a
# host, and each fork counts when twenty hosts are probed at once.
fd_where() {
  command -v "$2" >"$fd_tmp/$1.found" 2>/dev/null || return 1
  read -r fd_path <"$fd_tmp/$1.found"
  case $fd_path in /*) return 0 ;; esac
  : >"$fd_tmp/$1.found"
  return 1
}

fd_agent() {
  fd_id=$1; fd_path=$2; shift 2
  fd_run_limited "$fd_tmp/$fd_id.version" "$fd_path" "$@"
  echo $? >"$fd_tmp/$fd_id.version.rc"
}

fd_acp() {
  fd_id=$1; fd_path=$2; shift 3
  fd_run_limited "$fd_tmp/$fd_id.acp" "$fd_path" "$@"
  echo $? >"$fd_tmp/$fd_id.acp.rc"
}

fd_report() {
  for fd_f in "$fd_tmp"/*.found; do
    [ -s "$fd_f" ] || continue
    fd_id=${fd_f##*/}; fd_id=${fd_id%.found}
    read -r fd_path <"$fd_f"
    printf '@@fd\tfound\t%s\t%s\n' "$fd_id" "$fd_path"
    for fd_check in version acp; do
      [ -e "$fd_tmp/$fd_id.$fd_check.rc" ] || continue
      read -r fd_rc <"$fd_tmp/$fd_id.$fd_check.rc"
      printf '@@fd\t%s\t%s\t%s\t%s\n' "$fd_check" "$fd_id" "$fd_rc" \
        "$(fd_hex <"$fd_tmp/$fd_id.$fd_check")"
    done
  done
}
