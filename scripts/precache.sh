#!/usr/bin/env bash
# Trunk post-build hook (Trunk.toml): writes the service worker's file list and version into the
# staged sw.js. The version hashes every file's content, so any change to the app or the model
# makes a new service worker, which replaces the old cache.
set -euo pipefail
staging="${TRUNK_STAGING_DIR:?run by trunk as a post_build hook}"
cd "$staging"
mapfile -t files < <(find . -type f ! -name sw.js -printf '%P\n' | LC_ALL=C sort)
version=$(sha256sum "${files[@]}" | sha256sum | cut -c1-16)
list='"./"'
for file in "${files[@]}"; do
  case "$file" in
    *[!A-Za-z0-9._/-]*) echo "precache.sh: unexpected character in file name: $file" >&2; exit 1 ;;
  esac
  list+=", \"$file\""
done
sed -i -e "s|@MEDLIGHT_VERSION@|$version|" -e "s|@MEDLIGHT_FILES@|[$list]|" sw.js
echo "precache.sh: service worker version $version, ${#files[@]} files"
