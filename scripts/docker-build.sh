#!/usr/bin/env bash
# Build the Chorus image from this checkout without any image registry:
# a static binary (CGO_ENABLED=0) and the empty /tmp and /data go into
# build/docker, and the Dockerfile at the root copies them into a scratch
# image.
#
#	scripts/docker-build.sh [TAG]     # default chorus:dev, or $CHORUS_IMAGE
#
# Prints the image's tag on the last line.
set -euo pipefail
cd "$(dirname "$0")/.."

tag="${1:-${CHORUS_IMAGE:-chorus:dev}}"
ctx=build/docker

rm -rf "$ctx"
mkdir -p "$ctx/tmp" "$ctx/data"
chmod 1777 "$ctx/tmp"
chmod 0750 "$ctx/data"

echo "==> go build (static) -> $ctx/chorus"
CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$ctx/chorus" ./cmd/chorus

echo "==> docker build -t $tag"
docker build --quiet -t "$tag" . >/dev/null
echo "$tag"
