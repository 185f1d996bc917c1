#!/usr/bin/env bash
# Debian packages the product needs beyond Python, installed when missing:
# - fonts with CJK and emoji glyphs, so PDF reports show any script (fonts-noto-cjk,
#   fonts-noto-color-emoji);
# - with `--test`, Chromium for the UI test that drives the Dagster UI in a headless browser.
# Without root or apt-get it prints the command to run instead; under CI=true that is an error.
set -euo pipefail

needed=()
fonts=$(fc-list 2>/dev/null || true)
grep -q "Noto Sans CJK" <<<"$fonts" || needed+=(fonts-noto-cjk)
grep -q "Noto Color Emoji" <<<"$fonts" || needed+=(fonts-noto-color-emoji)
if [[ "${1:-}" == "--test" ]]; then
  command -v chromium >/dev/null || needed+=(chromium)
fi
[[ ${#needed[@]} -eq 0 ]] && exit 0

if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null; then
  echo "installing Debian packages: ${needed[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${needed[@]}" >/dev/null
  exit 0
fi
echo "missing Debian packages: ${needed[*]}; install them with:" >&2
echo "  sudo apt-get install --no-install-recommends ${needed[*]}" >&2
[[ "${CI:-}" == "true" ]] && exit 1
exit 0
