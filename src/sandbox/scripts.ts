/**
 * The two POSIX sh scripts around bubblewrap. They take everything as positional parameters
 * (`sh -c SCRIPT NAME ARG…`), so the command's argv reaches `exec "$@"` byte for byte, and no
 * value ever passes through shell quoting. Every variable they set starts with `_ecl_`: the
 * scripts run with the command's own environment, whose variables they must not change.
 *
 * OUTER runs on the host and is the process the caller spawns:
 *   $1 bwrap  $2 seccomp filter as printf escapes ('' = none)  $3 "1": keep the terminal's
 *   HUP/INT/QUIT away from bwrap  $4… bwrap's arguments (ending with the INNER invocation).
 *
 *   - bubblewrap does not forward signals, and its monitor process dies of the terminal's Ctrl-C
 *     (killing the command with SIGKILL through --die-with-parent). So bwrap is started with
 *     HUP/INT/QUIT ignored (INNER restores them for the command) and this script forwards
 *     HUP INT QUIT TERM USR1 USR2 to the command itself: its host pid is the child of bwrap's
 *     init (the child of the monitor) whose pid inside the namespace is 2.
 *   - INT and QUIT are not forwarded while this process group is the foreground group of a
 *     controlling terminal: the terminal already delivered them to the command, which is in the
 *     same group, and a second Ctrl-C means "quit now" to many interactive programs. The check
 *     reads /proc/$$/stat, and a read cut short by a signal is retried: when Ctrl-C and a
 *     forwarded SIGINT arrive together, the second interrupts the first's check, and reading
 *     that as "not in the foreground" sent the command a second SIGINT (1 run in 12, under load).
 *   - stdin is kept for bwrap (an asynchronous list would get /dev/null) through fd 3.
 *   - The exit status is bwrap's: the command's code, or 128+N if a signal N killed it.
 *
 * INNER runs inside the sandbox as the first process after bwrap's init:
 *   $1 socat  $2 port  $3 /proc/net/tcp local address of 127.0.0.1:port  $4 proxy socket
 *   $5 env(1) that supports --default-signal ('' = none)  $6… the command and its arguments.
 *
 *   It starts socat (double-forked, so the command never has it as a child to wait for; with
 *   HUP/INT/QUIT ignored, so Ctrl-C does not cut the run off the network), waits until the port
 *   is listening (no race with the command's first request), then execs the command with the
 *   terminal signals back at their defaults. A command name with `=` goes through `sh -c 'exec
 *   "$@"'`, because env(1) would read it as an assignment.
 */

export const OUTER = `_ecl_bwrap=$1 _ecl_bpf=$2 _ecl_ign=$3
shift 3
exec 3<&0
if [ "$_ecl_ign" = 1 ]; then trap '' HUP INT QUIT; fi
if [ -n "$_ecl_bpf" ]; then
  printf "$_ecl_bpf" | "$_ecl_bwrap" --seccomp 4 "$@" 4<&0 0<&3 3<&- &
else
  "$_ecl_bwrap" "$@" 0<&3 3<&- &
fi
_ecl_mon=$!
exec 3<&-
_ecl_cmd=
_ecl_kids() {
  for _ecl_f in /proc/[0-9]*/stat; do
    read -r _ecl_l 2>/dev/null <"$_ecl_f" || continue
    set -- "$1" \${_ecl_l##*) }
    if [ "$3" = "$1" ]; then _ecl_p=\${_ecl_f#/proc/}; echo "\${_ecl_p%/stat}"; fi
  done
}
_ecl_find() {
  [ -n "$_ecl_cmd" ] && return 0
  for _ecl_init in $(_ecl_kids "$_ecl_mon"); do
    for _ecl_c in $(_ecl_kids "$_ecl_init"); do
      while read -r _ecl_k _ecl_v; do
        if [ "$_ecl_k" = NSpid: ] && [ "\${_ecl_v##*[!0-9]}" = 2 ]; then _ecl_cmd=$_ecl_c; return 0; fi
      done 2>/dev/null <"/proc/$_ecl_c/status"
    done
  done
  return 1
}
_ecl_fg() {
  _ecl_t=0
  until read -r _ecl_l 2>/dev/null <"/proc/$$/stat"; do
    _ecl_t=$((_ecl_t + 1))
    [ "$_ecl_t" -lt 10 ] || return 1
  done
  set -- \${_ecl_l##*) }
  [ "$5" != 0 ] && [ "$6" = "$3" ]
}
_ecl_fwd() {
  if [ "$_ecl_ign" = 1 ]; then case $1 in INT | QUIT) _ecl_fg && return 0 ;; esac; fi
  _ecl_n=0
  until _ecl_find; do
    _ecl_n=$((_ecl_n + 1))
    if [ "$_ecl_n" -gt 40 ] || ! kill -0 "$_ecl_mon" 2>/dev/null; then
      kill -s "$1" "$_ecl_mon" 2>/dev/null
      return 0
    fi
    sleep 0.05 2>/dev/null || sleep 1
  done
  kill -s "$1" "$_ecl_cmd" 2>/dev/null
}
for _ecl_s in HUP INT QUIT TERM USR1 USR2; do trap "_ecl_fwd $_ecl_s" "$_ecl_s"; done
_ecl_rc=
while kill -0 "$_ecl_mon" 2>/dev/null; do
  wait "$_ecl_mon"
  _ecl_rc=$?
done
wait "$_ecl_mon" 2>/dev/null
_ecl_x=$?
if [ "$_ecl_x" != 127 ] || [ -z "$_ecl_rc" ]; then _ecl_rc=$_ecl_x; fi
exit "$_ecl_rc"
`;

export const INNER = `_ecl_socat=$1 _ecl_port=$2 _ecl_addr=$3 _ecl_sock=$4 _ecl_env=$5
shift 5
(
  trap '' HUP INT QUIT
  "$_ecl_socat" TCP-LISTEN:"$_ecl_port",bind=127.0.0.1,reuseaddr,fork UNIX-CONNECT:"$_ecl_sock" \\
    </dev/null >/dev/null 2>&1 &
)
_ecl_listening() {
  while read -r _ecl_a _ecl_b _ecl_c _ecl_d _ecl_e; do
    if [ "$_ecl_b" = "$_ecl_addr" ] && [ "$_ecl_d" = 0A ]; then return 0; fi
  done </proc/net/tcp
  return 1
}
_ecl_i=0
until _ecl_listening; do
  _ecl_i=$((_ecl_i + 1))
  if [ "$_ecl_i" -gt 1000 ]; then
    echo "enclave: the sandbox's bridge to the proxy (socat on 127.0.0.1:$_ecl_port) did not start" >&2
    exit 125
  fi
  sleep 0.005 2>/dev/null || sleep 1
done
case $1 in *=*) set -- /bin/sh -c 'exec "$@"' enclave-exec "$@" ;; esac
if [ -n "$_ecl_env" ]; then exec "$_ecl_env" --default-signal=HUP,INT,QUIT -- "$@"; fi
exec "$@"
`;
