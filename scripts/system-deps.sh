#!/usr/bin/env bash
# Debian packages the project needs, installed only when missing.
#   run:  what `make run` needs — Python's venv (python3-venv), Node.js with npm (bpmn-js is built from npm), and
#         for the printed sheets (WeasyPrint) pango with harfbuzz's subsetter and a CJK font embedded in each PDF
#   test: the above, plus chromium (browser tests), PostgreSQL (second database) and poppler-utils (pdftotext and
#         pdftoppm read the PDFs back)
set -euo pipefail
profile=${1:-test}
need=()
python3 -c "import ensurepip, venv" 2>/dev/null || need+=(python3-venv)
command -v npm >/dev/null || need+=(nodejs npm)
ldconfig -p | grep -q "libpangoft2-1.0.so.0" || need+=(libpango-1.0-0 libpangoft2-1.0-0)
ldconfig -p | grep -q "libharfbuzz-subset.so.0" || need+=(libharfbuzz-subset0)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
if [[ $profile == test ]]; then
  command -v chromium >/dev/null || need+=(chromium)
  command -v pdftotext >/dev/null || need+=(poppler-utils)
  compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need+=(postgresql)
fi
((${#need[@]} == 0)) && exit 0
echo "installing: ${need[*]}"
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
