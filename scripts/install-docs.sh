#!/usr/bin/env bash
# Installs berth's man pages and its bash, zsh and fish completions under PREFIX (default
# /usr/local), from the berth binary itself, so they always match its commands.
#   scripts/install-docs.sh [PREFIX]
# The binary is $BERTH if set, else `berth` on PATH, else .build/release/berth or .build/debug/berth.
set -euo pipefail
prefix=${1:-/usr/local}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

berth=${BERTH:-}
if [[ -z "$berth" ]]; then
    for candidate in "$(command -v berth || true)" "$root/.build/release/berth" "$root/.build/debug/berth"; do
        if [[ -n "$candidate" && -x "$candidate" ]]; then berth=$candidate; break; fi
    done
fi
if [[ -z "$berth" || ! -x "$berth" ]]; then
    echo "install-docs: no berth binary found; run swift build first or set BERTH=/path/to/berth" >&2
    exit 1
fi

man1="$prefix/share/man/man1"
bash_dir="$prefix/share/bash-completion/completions"
zsh_dir="$prefix/share/zsh/site-functions"
fish_dir="$prefix/share/fish/vendor_completions.d"
mkdir -p "$man1" "$bash_dir" "$zsh_dir" "$fish_dir"

# Write each file beside its final place, then rename, so a reader never sees half a file.
pages=$(mktemp -d "$man1/.berth-pages.XXXXXX")
trap 'rm -rf "$pages"' EXIT
"$berth" generate-manual "$pages"
for page in "$pages"/*.1; do
    chmod 0644 "$page"
    mv -f "$page" "$man1/$(basename "$page")"
done

install_completion() { # shell destination
    local temporary
    temporary=$(mktemp "$2.XXXXXX")
    "$berth" --generate-completion-script "$1" > "$temporary"
    chmod 0644 "$temporary"
    mv -f "$temporary" "$2"
}
install_completion bash "$bash_dir/berth"
install_completion zsh "$zsh_dir/_berth"
install_completion fish "$fish_dir/berth.fish"

if command -v mandb >/dev/null 2>&1 && [[ -w /var/cache/man ]]; then mandb -q "$prefix/share/man" >/dev/null 2>&1 || true; fi
echo "Installed man pages in $man1 and completions for bash, zsh and fish under $prefix/share."
