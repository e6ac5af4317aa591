#!/usr/bin/env bash
# Debian packages the project needs, installed only when missing.
#   run:  what `make run` needs — Python's venv (python3-venv) and Node.js with npm (bpmn-js is built from npm)
#   test: the above, plus chromium (browser tests), CJK fonts (screenshots, PDFs) and PostgreSQL (second database)
set -euo pipefail
profile=${1:-test}
need=()
python3 -c "import ensurepip, venv" 2>/dev/null || need+=(python3-venv)
command -v npm >/dev/null || need+=(nodejs npm)
if [[ $profile == test ]]; then
  command -v chromium >/dev/null || need+=(chromium)
  fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
fi
((${#need[@]} == 0)) && exit 0
echo "installing: ${need[*]}"
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
