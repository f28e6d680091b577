#!/usr/bin/env bash
# Install what the two README commands need on a fresh Debian 12 machine (run as root):
# python3 with venv, git, ssh (client and ssh-keygen). Idempotent: installs nothing that is there.
set -euo pipefail

need=()
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv python3-pip)
command -v git >/dev/null || need+=(git)
command -v ssh-keygen >/dev/null || need+=(openssh-client)
command -v make >/dev/null || need+=(make)

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "bootstrap: missing ${need[*]}; run as root or install them" >&2
    exit 1
  fi
  echo "bootstrap: apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
