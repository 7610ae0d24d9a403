#!/usr/bin/env bash
# `make release`: cross-compile ctlops for the release platforms into dist/, with SHA256SUMS.
#
# ctlops signs on security tokens through PKCS#11 (crypto11 -> miekg/pkcs11), which is cgo, so
# every target needs a C compiler for that platform. A target whose compiler is not on this
# machine is skipped with a line saying which compiler it needs: a ctlops without token support
# is never shipped. Set CC_<os>_<arch> (e.g. CC_darwin_arm64=o64-clang) to name a compiler.
set -euo pipefail
cd "$(dirname "$0")/.."

GO=${GO:-go}
DIST=${DIST:-dist}
VERSION=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
REVISION=${REVISION:-$(git rev-parse HEAD 2>/dev/null || true)}
LDFLAGS="-s -w -X main.version=$VERSION -X main.revision=$REVISION"
TARGETS=${TARGETS:-"linux/amd64 linux/arm64 darwin/arm64 windows/amd64"}

host=$($GO env GOOS)/$($GO env GOARCH)

# compiler OS/ARCH prints the C compiler for a target, or nothing.
compiler() {
  local var="CC_${1%/*}_${1#*/}"
  if [ -n "${!var:-}" ]; then echo "${!var}"; return; fi
  if [ "$1" = "$host" ]; then echo "${CC:-gcc}"; return; fi
  case $1 in
    linux/arm64) echo aarch64-linux-gnu-gcc ;;
    linux/amd64) echo x86_64-linux-gnu-gcc ;;
    windows/amd64) echo x86_64-w64-mingw32-gcc ;;
    darwin/arm64) echo oa64-clang ;; # osxcross; on a Mac the host compiler is used
  esac
}

# why OS/ARCH prints where a missing compiler comes from.
why() {
  case $1 in
    linux/arm64) echo "Debian: apt-get install gcc-aarch64-linux-gnu" ;;
    linux/amd64) echo "Debian: apt-get install gcc-x86-64-linux-gnu" ;;
    windows/amd64) echo "Debian: apt-get install gcc-mingw-w64-x86-64" ;;
    darwin/arm64) echo "build on macOS (Xcode command line tools) or with osxcross" ;;
  esac
}

rm -rf "$DIST"
mkdir -p "$DIST"
built=() skipped=()
for t in $TARGETS; do
  os=${t%/*} arch=${t#*/}
  out="$DIST/ctlops_${VERSION}_${os}_${arch}"
  [ "$os" = windows ] && out="$out.exe"
  cc=$(compiler "$t")
  if [ -z "$cc" ] || ! command -v "$cc" >/dev/null 2>&1; then
    skipped+=("$t: no C compiler ${cc:-known} for cgo (PKCS#11); $(why "$t")")
    continue
  fi
  echo "building $t with $cc"
  CGO_ENABLED=1 GOOS=$os GOARCH=$arch CC=$cc \
    $GO build -trimpath -buildvcs=false -ldflags "$LDFLAGS" -o "$out" ./cmd/ctlops
  built+=("$t")
done

if [ ${#built[@]} -gt 0 ]; then
  (cd "$DIST" && sha256sum ctlops_* > SHA256SUMS)
  echo
  echo "built into $DIST/ (checksums in $DIST/SHA256SUMS):"
  cat "$DIST/SHA256SUMS"
fi
if [ ${#skipped[@]} -gt 0 ]; then
  echo
  echo "not built:"
  printf '  %s\n' "${skipped[@]}"
fi
[ ${#built[@]} -gt 0 ]
