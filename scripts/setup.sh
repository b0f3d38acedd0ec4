#!/usr/bin/env bash
# Installs everything `make demo` and `make test` need on a fresh Debian/Ubuntu machine:
# the Debian packages (FluidSynth, the FluidR3 GM SoundFont, the TimGM6mb SoundFont (the music
# benchmark's peer), Chromium and its WebDriver for the report and app tests),
# a virtual environment in .venv, PyTorch (CPU wheel) and this package with its test extras.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
DEB_PACKAGES=(fluidsynth fluid-soundfont-gm timgm6mb-soundfont chromium chromium-driver)

missing=()
for pkg in "${DEB_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" = 0 ]; then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    echo "setup: error: the Debian packages ${missing[*]} are missing and this user can neither" \
         "run apt-get as root nor use sudo; install them with: sudo apt-get install ${missing[*]}" >&2
    exit 2
  fi
  "${SUDO[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
# torch first, pinned: 2.13.0 is the CPU wheel on our machines' disk; the range in
# pyproject.toml is then already satisfied and pip pulls nothing bigger.
.venv/bin/pip install -q "torch==2.13.0"
.venv/bin/pip install -q -e ".[test]"
echo "setup: done (.venv ready)"
