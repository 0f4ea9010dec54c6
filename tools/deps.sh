#!/bin/sh
# Lifeline build and test dependencies, from Debian 12 packages.
#
#   deps.sh check-or-install   install only what is missing (used by make)
#   deps.sh install            the same, said out loud (make deps)
#
# Installs non-interactively as root, or through sudo; otherwise says which
# packages to install and exits non-zero.  Never downloads anything else.
set -eu

PKGS="build-essential pkg-config libserialport-dev zlib1g-dev libsqlite3-dev
libsodium-dev libcunit1-dev clang libclang-rt-14-dev libcurl4-openssl-dev
libmicrohttpd-dev python3 python3-aiosmtpd groff-base man-db"

missing=""
for p in $PKGS; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done

if [ -z "$missing" ]; then
    [ "${1:-}" = install ] && echo "deps: everything Lifeline needs is installed."
    exit 0
fi

echo "deps: installing missing Debian packages:$missing"
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "deps: not root and no password-less sudo. As root, run:" >&2
    echo "  apt-get update && apt-get install -y$missing" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
