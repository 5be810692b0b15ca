#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine, as root: install what berth needs, build it, create
# a machine called "dev", and show the host's docker client talking to Docker Engine inside it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
machine=${1:-dev}

scripts/setup-host.sh
swift build
ln -sf "$PWD/.build/debug/berth" /usr/local/bin/berth
scripts/install-docs.sh /usr/local      # man pages (man berth, man berth-create, …) and shell completions

# berth's image, built once into the host's system cache, where every user's berth finds it.
berth image ls -q | grep -qx berth-docker || berth image build --system
berth status "$machine" >/dev/null 2>&1 || berth create "$machine"
berth start "$machine"
eval "$(berth env "$machine")"
berth ls
docker version
echo
echo "The docker client above talks to machine \"$machine\". In your shell: eval \$(berth env $machine)"
