#!/usr/bin/env bash
# Checks the event contracts in proto/ for breaking changes (buf's FILE rules) against a git ref.
#
#   scripts/buf-breaking.sh                 # against HEAD (the last commit)
#   BUF_BREAKING_REF=origin/main scripts/buf-breaking.sh   # e.g. in CI, against the target branch
#
# Succeeds without checking when there are no commits yet (ref HEAD unborn) or the ref has no
# proto/buf.yaml (the contracts are new): there is nothing to break. Any other missing ref fails.
# BUF (default .bin/buf, then buf on PATH) selects the buf binary.
set -euo pipefail

ref="${BUF_BREAKING_REF:-HEAD}"
root="$(git rev-parse --show-toplevel)"
cd "$root"

buf="${BUF:-}"
if [[ -z "$buf" ]]; then
	if [[ -x .bin/buf ]]; then
		buf=.bin/buf
	else
		buf=buf
	fi
fi

if ! commit="$(git rev-parse --verify --quiet "${ref}^{commit}")"; then
	if [[ "$ref" == HEAD ]]; then
		echo "buf-breaking: no commits yet; nothing to compare against, skipping"
		exit 0
	fi
	echo "buf-breaking: ref ${ref} does not exist" >&2
	exit 2
fi
if ! git cat-file -e "${commit}:proto/buf.yaml" 2>/dev/null; then
	echo "buf-breaking: ${ref} has no proto/buf.yaml; nothing to compare against, skipping"
	exit 0
fi

# The git dir, not ".git": in a worktree or submodule .git is a file.
gitdir="$(git rev-parse --path-format=absolute --git-common-dir)"
echo "buf-breaking: proto/ against ${ref} (${commit:0:12})"
exec "$buf" breaking proto --against "${gitdir}#ref=${commit},subdir=proto"
