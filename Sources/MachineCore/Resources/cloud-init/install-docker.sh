#!/bin/sh
# berth: install Docker Engine from Debian's packages on a machine whose image has none,
# then start it with the daemon.json and systemd drop-in that cloud-init wrote beforehand.
set -eu
export DEBIAN_FRONTEND=noninteractive

if ! command -v dockerd >/dev/null 2>&1; then
    attempt=1
    # Newer Debian ships the docker command in its own package (docker-cli); older ones inside docker.io.
    until apt-get update -q && apt-get install -y -q --no-install-recommends docker.io ca-certificates \
        $(apt-cache show docker-cli >/dev/null 2>&1 && echo docker-cli); do
        if [ "$attempt" -ge 5 ]; then
            echo "berth: could not install docker.io" >&2
            exit 1
        fi
        attempt=$((attempt + 1))
        sleep 5
    done
fi

systemctl daemon-reload
systemctl reset-failed docker.service docker.socket 2>/dev/null || true
systemctl enable docker.service
systemctl restart docker.service
