# SPDX-License-Identifier: GPL-3.0-or-later
#
# Helpers of the distributed-mode scenarios (sourced after lib.sh): several
# fluxgated daemons started like start_fluxgated and judged at their stop,
# the controller's status, polling.
#
# Needs FLUXCTL set; the controller's control socket is $FG_WORK/ctl.sock
# in namespace ctl.

declare -A DPID=() DVG=()
start_d() { # start_d LABEL NS CONF: fluxgated (under valgrind with VALGRIND=1)
	if [ "$VALGRIND" = "1" ]; then
		DVG[$1]="$FG_WORK/$1.valgrind.log"
		start_bg "$1" "$2" valgrind -q --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite --show-leak-kinds=definite \
			--track-fds=no --log-file="${DVG[$1]}" "$FLUXGATED" -c "$3"
	else
		DVG[$1]=""
		start_bg "$1" "$2" "$FLUXGATED" -c "$3"
	fi
	DPID[$1]=$BG_PID
}
stop_d() { # stop_d LABEL: SIGTERM, check exit 0 (99: valgrind errors)
	local t=15
	[ "$VALGRIND" = "1" ] && t=60
	stop_pid "${DPID[$1]}" $t
	case $STOP_RC in
	0) ok "$1 stops cleanly" ;;
	99) fail "$1 stops cleanly (valgrind memcheck errors)" "$(tail -n 60 "${DVG[$1]}")" ;;
	*) fail "$1 stops cleanly" "exit $STOP_RC" "$(tail -n 30 "$FG_WORK/$1.log")" ;;
	esac
}
dist_psk() { # dist_psk FILE...: a fresh 256-bit PSK in each
	local f
	for f in "$@"; do
		openssl rand -hex 32 >"$f"
		chmod 0600 "$f"
	done
}
ctl_status() { nsx ctl "$FLUXCTL" -s "$FG_WORK/ctl.sock" --json status 2>/dev/null; }
agent_field() { # agent_field ID FIELD[.SUB]: a field of the agent's entry in the controller's status
	ctl_status | python3 -c "
import json, sys
d = json.load(sys.stdin)
v = [a for a in d['agents'] if a['id'] == '$1'][0]
for k in '$2'.split('.'):
    v = v[k]
print(v)" 2>/dev/null
}
agent_state() { agent_field "$1" state; }
wait_for() { # wait_for TIMEOUT CMD...: poll until CMD succeeds
	local deadline=$((SECONDS + $1)); shift
	while [ $SECONDS -lt $deadline ]; do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
is_up() { [ "$(agent_state "$1")" = up ]; }
caught_up() { [ "$(agent_state "$1")" = up ] && [ "$(agent_field "$1" lag)" = 0 ]; }

# agent_conf ID LISTEN PSK [METRICS]: an agent's config, commanded by the
# controller "ctl" with the PSK file PSK, its table ${T}ID, its control
# socket in FG_WORK, metrics on METRICS when given; the scenario's own
# `common` function prints the pools and services every role shares.
agent_conf() {
	cat <<EOF2
role: agent
server:
  listen: [ "127.0.0.1@53" ]
  user: nobody
  workers: 1
dist:
  id: $1
  listen: $2
controller:
  - id: ctl
    psk-file: $3
nat:
  table: ${T}$1
control:
  socket: $FG_WORK/$1.sock
${4:+metrics:
  listen: \"$4\"
}$(common)
EOF2
}
