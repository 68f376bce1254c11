#!/usr/bin/env bash
# Makes sure the Debian packages the project runs against are present.
# Usage: ensure-system-deps.sh redis [postgresql] [chromium]
# Installs a missing package with apt-get when we are root (or have password-less sudo);
# otherwise stops and says exactly what to install.
set -euo pipefail

declare -A BINARY=(
  [redis]=redis-server
  [postgresql]=/usr/lib/postgresql/*/bin/initdb
  [chromium]=chromium
)
declare -A PACKAGE=(
  [redis]=redis-server
  [postgresql]=postgresql
  [chromium]=chromium
)

present() {
  local probe=$1
  if [[ $probe == /* ]]; then compgen -G "$probe" >/dev/null; else command -v "$probe" >/dev/null; fi
}

missing=()
for dep in "$@"; do
  present "${BINARY[$dep]}" || missing+=("${PACKAGE[$dep]}")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  SUDO=""
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  SUDO="sudo -n"
else
  echo "Missing system packages: ${missing[*]}" >&2
  echo "Install them with:  sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "Missing system packages: ${missing[*]} (no apt-get here: install them with your package manager)" >&2
  exit 1
fi
echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d stops Debian from starting system-wide services: we run our own on loopback.
$SUDO sh -c 'printf "#!/bin/sh\nexit 101\n" > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d'
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
$SUDO rm -f /usr/sbin/policy-rc.d
