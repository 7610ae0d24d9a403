#!/usr/bin/env bash
# Checks schemas/ctlops.schema.json with ajv-cli, a JSON Schema validator that ctlops did not
# write: every example and every fixture the loader accepts must validate, and every fixture
# under spec/testdata/invalid must be refused. ajv-cli is installed from npm into .cache/npm
# (git-ignored) the first time. YAML goes to JSON through schemas/internal/yaml2json, so that
# ajv sees the values ctlops's YAML parser sees.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=.cache/npm
AJV=$CACHE/node_modules/.bin/ajv
if [ ! -x "$AJV" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "ajv-check: npm is missing (apt-get install nodejs npm)" >&2
    exit 1
  fi
  mkdir -p "$CACHE"
  # The cache ignores itself, so it never shows up in git status.
  printf '*\n' > .cache/.gitignore
  echo "ajv-check: npm install ajv-cli@5.0.0 into $CACHE"
  npm install --prefix "$CACHE" --no-audit --no-fund --no-save --loglevel=error ajv-cli@5.0.0 >/dev/null
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/yaml2json" ./schemas/internal/yaml2json

ajv() {
  "$AJV" validate --spec=draft2020 --all-errors -s schemas/ctlops.schema.json -d "$1"
}

fail=0 n=0
check() { # want(valid|invalid) file
  local want=$1 f=$2 json out
  json=$tmp/$(echo "$f" | tr '/' '_').json
  "$tmp/yaml2json" "$f" "$json"
  n=$((n + 1))
  if out=$(ajv "$json" 2>&1); then
    if [ "$want" = invalid ]; then
      echo "ajv-check: FAIL: ajv accepts $f, which ctlops refuses" >&2
      fail=1
    fi
  elif [ "$want" = valid ]; then
    echo "ajv-check: FAIL: ajv refuses $f, which ctlops accepts:" >&2
    echo "$out" | sed 's/^/    /' >&2
    fail=1
  fi
}

while IFS= read -r f; do check valid "$f"; done < <(find examples spec/testdata/valid spec/testdata/loader-only \
  -name '*.yaml' -o -name '*.yml' | sort)
for f in spec/testdata/invalid/*.yaml; do check invalid "$f"; done

if [ $fail -ne 0 ]; then
  exit 1
fi
echo "ajv-check: $n files: the schema agrees with ctlops"
