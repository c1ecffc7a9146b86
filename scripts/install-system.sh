#!/usr/bin/env bash
# Install the Debian packages nianbao's tests use, only those missing. Needs root (CI runs as root)
# or passwordless sudo; without either it says what to install and stops.
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v antiword >/dev/null 2>&1 || need+=(antiword)
# DOC/WPS reports: LibreOffice headless converts them to DOCX (antiword, above, is the fallback)
command -v soffice >/dev/null 2>&1 || need+=(libreoffice-writer-nogui)
# the key-figure export's CSV check opens it in LibreOffice Calc headless (tests/test_export_demo.py)
[ -e /usr/lib/libreoffice/program/libsclo.so ] || need+=(libreoffice-calc-nogui)
# PDF reports: PDFium substitutes a system CJK font for a non-embedded Chinese font (STSong, SimSun…); with none
# it loses one-character text runs, and those pages are read with pdfminer instead (correct, ~8x slower)
[ -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || need+=(fonts-wqy-zenhei)
# Image tables and scanned reports: Tesseract's Simplified Chinese and English models (the engine itself is
# libtesseract inside the tesserocr wheel; the CLI package brings the eng model and the data folder)
[ -e /usr/share/tesseract-ocr/5/tessdata/eng.traineddata ] || need+=(tesseract-ocr)
[ -e /usr/share/tesseract-ocr/5/tessdata/chi_sim.traineddata ] || need+=(tesseract-ocr-chi-sim)
[ ${#need[@]} -eq 0 ] && exit 0
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "nianbao: missing Debian packages: ${need[*]}; run: sudo apt-get install -y --no-install-recommends ${need[*]}" >&2
    exit 1
  fi
fi
echo "nianbao: installing Debian packages: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
