#!/usr/bin/env bash
# Renders the written report of a full incident as a person sees it: the test in
# test/after-incident/written-report-full.test.ts builds the incident through the use cases and writes its
# .docx (Chinese and English) to artifacts/written-report/; LibreOffice turns each into a PDF, and
# pdftoppm into one PNG a page (artifacts/written-report/*-N.png), to be looked at.
# Needs PostgreSQL and Redis as for the tests, and Debian's libreoffice-writer-nogui, fonts-noto-cjk and
# poppler-utils:
#   apt-get install -y --no-install-recommends libreoffice-writer-nogui fonts-noto-cjk poppler-utils
set -euo pipefail
cd "$(dirname "$0")/.."
out=artifacts/written-report
rm -rf "$out"
mkdir -p "$out"
REPORT_ARTIFACTS_DIR="$out" npx vitest run test/after-incident/written-report-full.test.ts
for f in "$out"/*.docx; do
  soffice --headless --convert-to pdf --outdir "$out" "$f" >/dev/null
  pdftoppm -png -r "${DPI:-80}" "${f%.docx}.pdf" "${f%.docx}"
done
ls -1 "$out"
