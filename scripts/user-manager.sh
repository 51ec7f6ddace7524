#!/usr/bin/env bash
# A real systemd user manager for an unprivileged user on a host whose PID 1 is not
# systemd (a container, a CI machine): what the user-manager test tier and the benchmark
# run ccf under, the way an operator's host runs it. Run as root.
#
#   scripts/user-manager.sh start USER   creates USER (home from /etc/skel) if missing,
#                                        its runtime dir, a cgroup delegated to it, and
#                                        its manager; waits until the manager answers
#   scripts/user-manager.sh stop USER    stops the manager, ends every process of USER,
#                                        removes the cgroup, the runtime dir and USER
#
# The manager starts with an empty environment but HOME, USER, LOGNAME, SHELL, PATH and
# XDG_RUNTIME_DIR: no locale, as a user manager can be started on a host whose PAM sets
# none. Its log is /run/user/UID/manager.log. There is no journald.
set -euo pipefail
usage() { echo "usage: $0 start|stop USER" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
cmd=$1 user=$2
[[ $(id -u) -eq 0 ]] || { echo "$0: must run as root" >&2; exit 1; }

cgroups() {
  # Pure cgroup v2: one tree. Hybrid (systemd's "unified" beside v1): the v2 tree the
  # manager delegates from, and the name=systemd tree it also expects to own.
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    echo "/sys/fs/cgroup/ccf-$user"
  else
    [[ -d /sys/fs/cgroup/unified ]] && echo "/sys/fs/cgroup/unified/ccf-$user"
    [[ -d /sys/fs/cgroup/systemd ]] && echo "/sys/fs/cgroup/systemd/ccf-$user"
  fi
}

as_user() {
  runuser -u "$user" -- env -i HOME="$home" USER="$user" PATH=/usr/bin:/bin \
    XDG_RUNTIME_DIR="/run/user/$uid" "$@"
}

case $cmd in
start)
  [[ -x /lib/systemd/systemd ]] || { echo "$0: /lib/systemd/systemd is missing (apt-get install systemd)" >&2; exit 1; }
  id -u "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$user"
  uid=$(id -u "$user") home=$(getent passwd "$user" | cut -d: -f6)
  # systemd refuses a user instance on a host "not booted with systemd" without this.
  mkdir -p /run/systemd/system
  install -d -o "$user" -g "$(id -g "$user")" -m 0700 "/run/user/$uid"
  mapfile -t dirs < <(cgroups)
  for d in "${dirs[@]}"; do
    mkdir -p "$d"
    chown -R "$user:" "$d"
  done
  # The shell moves itself into the delegated cgroups, then becomes the manager.
  setsid bash -c '
    u=$1 h=$2 uid=$3; shift 3
    for d in "$@"; do echo $$ > "$d/cgroup.procs"; done
    exec runuser -u "$u" -- env -i HOME="$h" USER="$u" LOGNAME="$u" SHELL=/bin/bash \
      PATH=/usr/local/bin:/usr/bin:/bin XDG_RUNTIME_DIR="/run/user/$uid" \
      /lib/systemd/systemd --user
  ' _ "$user" "$home" "$uid" "${dirs[@]}" </dev/null >"/run/user/$uid/manager.log" 2>&1 &
  for _ in $(seq 100); do
    state=$(as_user systemctl --user is-system-running 2>/dev/null || true)
    case $state in
      running|degraded) echo "$user: user manager $state (uid $uid)"; exit 0 ;;
    esac
    sleep 0.1
  done
  echo "$0: the user manager of $user did not come up; /run/user/$uid/manager.log:" >&2
  cat "/run/user/$uid/manager.log" >&2 || true
  exit 1
  ;;
stop)
  id -u "$user" >/dev/null 2>&1 || exit 0
  uid=$(id -u "$user") home=$(getent passwd "$user" | cut -d: -f6)
  if [[ -S /run/user/$uid/systemd/private ]]; then
    timeout 10 runuser -u "$user" -- env -i XDG_RUNTIME_DIR="/run/user/$uid" \
      systemctl --user exit >/dev/null 2>&1 || true
  fi
  for _ in $(seq 50); do
    pkill -KILL -u "$uid" 2>/dev/null || break
    sleep 0.1
  done
  mapfile -t dirs < <(cgroups)
  for d in "${dirs[@]}"; do
    [[ -d $d ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true
  done
  rm -rf "/run/user/$uid"
  userdel --remove "$user" 2>/dev/null || true
  ;;
*) usage ;;
esac
