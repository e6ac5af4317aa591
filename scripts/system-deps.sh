#!/usr/bin/env bash
# Debian packages the tests need: chromium (browser tests), CJK fonts (screenshots), PostgreSQL (second database).
set -euo pipefail
need=()
command -v chromium >/dev/null || need+=(chromium)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
((${#need[@]} == 0)) && exit 0
echo "installing: ${need[*]}"
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
