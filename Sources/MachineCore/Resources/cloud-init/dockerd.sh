#!/bin/sh
# berth: starts dockerd with the flags berth gave the machine (--engine-opt), one per line in
# /etc/berth/dockerd.args. Sockets and TLS come from /etc/docker/daemon.json. exec keeps dockerd
# the service's main process, so its readiness notification reaches systemd.
set --
if [ -r /etc/berth/dockerd.args ]; then
    while IFS= read -r argument || [ -n "$argument" ]; do
        [ -n "$argument" ] && set -- "$@" "$argument"
    done < /etc/berth/dockerd.args
fi
exec /usr/sbin/dockerd "$@"
