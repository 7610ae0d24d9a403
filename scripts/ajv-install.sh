# Sourced by ajv-check.sh and install-deps.sh (from the repository root): where ajv-cli lives
# and how it gets there, defined once. ajv-cli is installed from npm into .cache/npm
# (git-ignored) the first time.
CACHE=.cache/npm
AJV=$CACHE/node_modules/.bin/ajv
AJV_PACKAGE=ajv-cli@5.0.0

ajv_install() {
  if [ -x "$AJV" ]; then
    return 0
  fi
  if ! command -v npm >/dev/null 2>&1; then
    echo "ajv: npm is missing (apt-get install nodejs npm)" >&2
    return 1
  fi
  mkdir -p "$CACHE"
  # The cache ignores itself, so it never shows up in git status.
  printf '*\n' > .cache/.gitignore
  echo "ajv: npm install $AJV_PACKAGE into $CACHE"
  npm install --prefix "$CACHE" --no-audit --no-fund --no-save --loglevel=error "$AJV_PACKAGE" >/dev/null
}
