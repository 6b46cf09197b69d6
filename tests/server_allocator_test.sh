#!/usr/bin/env bash
# server_allocator_test.sh SERVER: hookstream-server built with HOOKSTREAM_MIMALLOC
# runs on mimalloc. The dynamic linker's account of its bindings (all made at
# start: LD_BIND_NOW) must show malloc and free bound to libmimalloc for libpq,
# libstdc++ and libc alike, so a link that quietly drops the library
# (--as-needed) or puts it after libc fails.
set -euo pipefail
server=$1
bindings=$(LD_BIND_NOW=1 LD_DEBUG=bindings "$server" --help 2>&1 >/dev/null)
status=0
for file in libpq libstdc++ libc.so; do
  for symbol in malloc free; do
    if ! grep -q "binding file [^ ]*$file[^ ]* \[0\] to [^ ]*libmimalloc[^ ]* \[0\]: normal symbol \`$symbol'" <<<"$bindings"; then
      echo "FAIL: $file's $symbol is not bound to mimalloc:" >&2
      grep "binding file [^ ]*$file[^ ]* .*symbol \`$symbol'" <<<"$bindings" | head -n 2 >&2 || echo "  (no binding of it at all)" >&2
      status=1
    fi
  done
done
[ "$status" = 0 ] && echo "malloc and free of libpq, libstdc++ and libc are mimalloc's"
exit "$status"
