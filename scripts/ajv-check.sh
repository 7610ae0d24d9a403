#!/usr/bin/env bash
# Checks schemas/ctlops.schema.json with ajv-cli, a JSON Schema validator that ctlops did not
# write: every example and every fixture the loader accepts must validate, and every fixture
# under spec/testdata/invalid must be refused. ajv-cli is installed from npm into .cache/npm
# (git-ignored) the first time. YAML goes to JSON through schemas/internal/yaml2json, so that
# ajv sees the values ctlops's YAML parser sees. ajv runs once for all files (it says "FILE
# valid" on stdout and "FILE invalid" on stderr for each): starting Node for each of them
# was most of this script's time.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/ajv-install.sh
. scripts/ajv-install.sh
ajv_install

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/yaml2json" ./schemas/internal/yaml2json

ajv() { # JSON files...
  local args=() f
  for f in "$@"; do args+=(-d "$f"); done
  "$AJV" validate --spec=draft2020 --all-errors -s schemas/ctlops.schema.json "${args[@]}"
}

wants=() files=() jsons=()
add() { # want(valid|invalid) file
  local json
  json=$tmp/$(echo "$2" | tr '/' '_').json
  "$tmp/yaml2json" "$2" "$json"
  wants+=("$1") files+=("$2") jsons+=("$json")
}
while IFS= read -r f; do add valid "$f"; done < <(find examples spec/testdata/valid spec/testdata/loader-only \
  -name '*.yaml' -o -name '*.yml' | sort)
for f in spec/testdata/invalid/*.yaml; do add invalid "$f"; done

ajv "${jsons[@]}" >"$tmp/stdout" 2>"$tmp/stderr" || true # the verdicts are per file, below

fail=0
for i in "${!files[@]}"; do
  want=${wants[$i]} f=${files[$i]} json=${jsons[$i]}
  if grep -qxF "$json valid" "$tmp/stdout"; then
    got=valid
  elif grep -qxF "$json invalid" "$tmp/stderr"; then
    got=invalid
  else
    echo "ajv-check: FAIL: ajv gave no verdict on $f:" >&2
    sed 's/^/    /' "$tmp/stderr" >&2
    fail=1
    continue
  fi
  if [ "$got" != "$want" ] && [ "$want" = invalid ]; then
    echo "ajv-check: FAIL: ajv accepts $f, which ctlops refuses" >&2
    fail=1
  elif [ "$got" != "$want" ]; then
    echo "ajv-check: FAIL: ajv refuses $f, which ctlops accepts:" >&2
    ajv "$json" 2>&1 | sed 's/^/    /' >&2 || true
    fail=1
  fi
done

if [ $fail -ne 0 ]; then
  exit 1
fi
echo "ajv-check: ${#files[@]} files: the schema agrees with ctlops"
