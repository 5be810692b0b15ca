#!/bin/sh
# A Docker Machine user's script, written for docker-machine and run unchanged: the test puts
# berth on PATH under the name docker-machine. It reads machine NAME through ls, inspect, ip, url,
# status, env, config, active, ssh and scp, then removes it with rm -f (twice: the second finds
# nothing and must still succeed).
# Usage: docker-machine-user.sh NAME
set -eu
name=$1
step() { echo "== $*" >&2; }

step "ls with Go templates and filters"
docker-machine ls --format '{{.Name}} {{.State}} {{.DriverName}}' | grep -qx "$name Running libvirt"
docker-machine ls -q | grep -qx "$name"
docker-machine ls --filter "name=^$name\$" --format 'table {{.Name}}\t{{.URL}}' | head -n 1 | grep -q '^NAME'

step "ip, url, inspect --format, status"
ip=$(docker-machine ip "$name")
[ "$(docker-machine url "$name")" = "tcp://$ip:2376" ]
[ "$(docker-machine inspect --format '{{.Driver.IPAddress}}' "$name")" = "$ip" ]
[ "$(docker-machine inspect --format '{{.Name}}' "$name")" = "$name" ]
[ "$(docker-machine status "$name")" = "Running" ]

step "env, active, env -u"
eval "$(docker-machine env "$name")"
[ "$DOCKER_MACHINE_NAME" = "$name" ]
[ "$DOCKER_HOST" = "tcp://$ip:2376" ]
[ "$DOCKER_TLS_VERIFY" = "1" ]
[ "$(docker-machine active)" = "$name" ]
docker-machine ls --format '{{.Name}} {{.Active}}' | grep -qx "$name \*"
docker info --format '{{.Name}}' | grep -qx "$name"
eval "$(docker-machine env -u)"
[ -z "${DOCKER_HOST:-}" ]

step "config"
docker $(docker-machine config "$name") version --format '{{.Server.Version}}' >/dev/null

step "ssh, its exit status passed through"
[ "$(docker-machine ssh "$name" hostname)" = "$name" ]
set +e
docker-machine ssh "$name" 'exit 3'
status=$?
set -e
[ "$status" -eq 3 ]

step "scp both ways"
tmp=$(mktemp -d)
echo "from the host" > "$tmp/up"
docker-machine scp "$tmp/up" "$name:/tmp/up"
docker-machine scp "$name:/tmp/up" "$tmp/down"
cmp "$tmp/up" "$tmp/down"
rm -r "$tmp"

step "rm -f, twice"
docker-machine rm -f "$name"
docker-machine rm -f "$name"
if docker-machine status "$name" 2>/dev/null; then exit 1; fi
docker-machine status "$name" 2>&1 | grep -q "Docker machine \"$name\" does not exist"
echo "docker-machine script: all good"
