#!/usr/bin/env bash
# The embedded default, end to end: a throwaway local vault (no cloud account), one secret stored,
# locked, unlocked, read back. Everything lives in temporary folders that are removed at the end;
# the passphrase is generated into a RAM-backed file and never appears on a command line.
set -euo pipefail
cd "$(dirname "$0")/.."
enclave() { bin/enclave "$@"; }

ram=${XDG_RUNTIME_DIR:-/dev/shm}
export ENCLAVE_HOME; ENCLAVE_HOME=$(mktemp -d "${TMPDIR:-/tmp}/enclave-quickstart-home.XXXXXX")
scratch=$(mktemp -d "$ram/enclave-quickstart.XXXXXX")
export ENCLAVE_RUNTIME_DIR="$scratch/runtime"
trap 'enclave lock --discard >/dev/null 2>&1 || true; rm -rf "$ENCLAVE_HOME" "$scratch"' EXIT

pass="$scratch/passphrase"
(umask 077 && head -c 24 /dev/urandom | base64 > "$pass")

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step "enclave init --passphrase-file \$PASSFILE        # argon2id, 128 MiB"
enclave init --passphrase-file "$pass"
step "enclave unlock --passphrase-file \$PASSFILE      # decrypt into RAM ($ENCLAVE_RUNTIME_DIR)"
enclave unlock --passphrase-file "$pass"
step "printf 'hello from enclave' | enclave set demo/greeting"
printf 'hello from enclave' | enclave set demo/greeting
step "enclave ls"
enclave ls
step "enclave lock                                  # wipe the RAM copy"
enclave lock
step "enclave unlock --passphrase-file \$PASSFILE"
enclave unlock --passphrase-file "$pass"
step "cat \$ENCLAVE_RUNTIME_DIR/demo/greeting          # scripts read secrets as files"
cat "$ENCLAVE_RUNTIME_DIR/demo/greeting"; echo
step "enclave get demo/greeting"
got=$(enclave get demo/greeting)
echo "$got"
step "enclave status"
enclave status
step "enclave grant http demo --host api.example.com --header 'Authorization: Bearer {{secret demo/greeting}}' --env DEMO_TOKEN"
enclave grant http demo --host api.example.com --header 'Authorization: Bearer {{secret demo/greeting}}' --env DEMO_TOKEN
step "enclave run --grant demo -- sh -c 'echo \"the command holds: \$DEMO_TOKEN\"'   # a placeholder, not the value"
seen=$(enclave run --grant demo -- sh -c 'echo "$DEMO_TOKEN"')
echo "the command holds: $seen"
step "enclave runs; enclave audit verify"
enclave runs
enclave audit verify
enclave lock >/dev/null 2>&1
[ "$got" = "hello from enclave" ] || { echo "quickstart: read back the wrong value" >&2; exit 1; }
[ "${#seen}" = "${#got}" ] && [ "$seen" != "$got" ] || { echo "quickstart: the run saw the real value" >&2; exit 1; }
printf '\nquickstart: OK — stored, locked, unlocked and read back a secret; a run held only a placeholder; temporary vault removed.\n'
