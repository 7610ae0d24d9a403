#!/usr/bin/env bash
# Installs what `make test` and `make demo` need on a fresh Debian machine (run as root).
# Idempotent: a machine that already has everything spends under a second here.
set -euo pipefail

need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1; }
have softhsm2-util || need_pkgs+=(softhsm2)
have pkcs11-tool   || need_pkgs+=(opensc)
have certtool      || need_pkgs+=(gnutls-bin)
have in.tftpd      || need_pkgs+=(tftpd-hpa)
have tftp          || need_pkgs+=(tftp-hpa)
have openssl       || need_pkgs+=(openssl)
have curl          || need_pkgs+=(curl)
have npm           || need_pkgs+=(nodejs npm)

if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing ${need_pkgs[*]}; run as root or install them with apt-get" >&2
    exit 1
  fi
  echo "install-deps: apt-get install ${need_pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  # tftpd-hpa's post-install tries to start its service; that may fail in a container
  # without an init system, which is fine: the tests start in.tftpd themselves.
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null || \
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

GOBIN=$(go env GOPATH)/bin
if [ ! -x "$GOBIN/staticcheck" ]; then
  echo "install-deps: go install staticcheck"
  go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi
