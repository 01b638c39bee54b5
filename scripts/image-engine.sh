# Sourced by scripts/image.sh and scripts/build-base-image.sh: picks the container engine and the flags it needs on
# these machines, and the cache root they share. Sets:
#   cache_root   ${ATW_CACHE_DIR:-$HOME/.cache/actortemplate-webhook}
#   engine_kind  docker | podman
#   engine       the command and global flags (an array): "${engine[@]}" build …
#   run_flags    what `run` additionally needs here (an array, empty for docker)
#
# ATW_CONTAINER_ENGINE=docker|podman chooses; otherwise a reachable Docker daemon wins, then podman.

cache_root="${ATW_CACHE_DIR:-${HOME:?HOME is not set}/.cache/actortemplate-webhook}"

engine_kind="${ATW_CONTAINER_ENGINE:-}"
if [[ -z "$engine_kind" ]]; then
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    engine_kind=docker
  elif command -v podman >/dev/null 2>&1; then
    engine_kind=podman
  else
    echo "image: neither a reachable Docker daemon nor podman on this machine" >&2
    exit 1
  fi
fi

case "$engine_kind" in
  docker)
    engine=(docker)
    run_flags=()
    ;;
  podman)
    # Its own store, so builds and test containers share no state with anyone else's podman (docs/real-node.md).
    # crun cannot drive this machine's hybrid cgroup hierarchy ("cgroups in hybrid mode not supported"): runc and cgroupfs.
    # journald is not there for events in every environment; a file is.
    podman_dir="$cache_root/podman"
    podman_run="$podman_dir/run"
    # podman refuses a runroot longer than 50 characters; a long cache root gets one in /tmp named after it.
    if ((${#podman_run} > 50)); then podman_run="/tmp/atw-podman-$(echo "$cache_root" | sha256sum | cut -c1-12)"; fi
    mkdir -p "$podman_dir/root" "$podman_dir/tmp" "$podman_run"
    engine=(podman --root "$podman_dir/root" --runroot "$podman_run" --tmpdir "$podman_dir/tmp"
      --storage-driver overlay --runtime runc --cgroup-manager cgroupfs --events-backend file)
    # podman's default ulimits fail in setrlimit (EPERM) here. The shell's own hard limit on open files is allowed;
    # processes above kernel.pid_max are refused (measured: 32768 works, 32769 fails) and could not exist anyway.
    nofile="$(ulimit -Hn)" nproc="$(ulimit -Hu)" pid_max="$(cat /proc/sys/kernel/pid_max)"
    [[ "$nofile" == unlimited ]] && nofile=1048576
    if [[ "$nproc" == unlimited ]] || ((nproc > pid_max)); then nproc="$pid_max"; fi
    run_flags=(--ulimit "nofile=$nofile:$nofile" --ulimit "nproc=$nproc:$nproc")
    ;;
  *)
    echo "image: ATW_CONTAINER_ENGINE must be docker or podman, got '$engine_kind'" >&2
    exit 1
    ;;
esac

# Takes a lock on "$1" held on fd 9 until the calling script exits.
lock_file() {
  exec 9>"$1"
  flock 9
}
