#!/usr/bin/env bash
# Cross-compiles and links the Windows (SSPI) half of the native addon with mingw-w64. The output is
# a real x64 DLL (build/sspi/spnego_native.node, copied to prebuilds/win32-x64/) importing napi_*
# from node.exe and the SSPI functions from secur32.dll; test/windows runs it under Wine.
#   usage: bash scripts/compile-sspi.sh      (from anywhere; needs node_modules installed)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

triplet=x86_64-w64-mingw32
# node-addon-api's napi.h needs std::mutex, which the "win32" thread model of GCC < 13 lacks:
# prefer the "posix" variant (winpthreads, linked statically below) when it is installed.
cxx="${triplet}-g++"
if command -v "${triplet}-g++-posix" >/dev/null 2>&1; then cxx="${triplet}-g++-posix"; fi
dlltool="${triplet}-dlltool"
objdump="${triplet}-objdump"

for tool in "$cxx" "$dlltool" "$objdump"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "compile-sspi: $tool not found; it comes with the mingw-w64 cross compiler" >&2
    echo "  (Debian/Ubuntu: apt-get install g++-mingw-w64-x86-64 binutils-mingw-w64-x86-64)" >&2
    exit 1
  fi
done
if ! command -v node >/dev/null 2>&1; then
  echo "compile-sspi: node not found (needed to locate node-addon-api and node-api-headers)" >&2
  exit 1
fi

addon_inc="$(node -p "require('node-addon-api').include_dir")"
api_inc="$(node -p "require('node-api-headers').include_dir")"
# node-addon-api gives its include_dir relative to the package root; make both absolute.
addon_inc="$(cd "$addon_inc" && pwd)"
api_inc="$(cd "$api_inc" && pwd)"
api_root="$(cd "$api_inc/.." && pwd)"
def="$api_root/def/node_api.def"
if [ ! -f "$def" ]; then
  echo "compile-sspi: $def not found (node-api-headers too old?)" >&2
  exit 1
fi

out_dir="$root/build/sspi"
mkdir -p "$out_dir"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# An import library for the napi_* functions node.exe exports.
"$dlltool" -d "$def" -l "$tmp/libnode.a" -D node.exe

out="$out_dir/spnego_native.node"
rm -f "$out"
# -static: libstdc++, libgcc and winpthreads go inside the DLL (Windows import libraries stay imports).
"$cxx" -std=c++17 -shared -O1 -Wall -Wextra -Wno-unused-parameter -Wno-cast-function-type \
  -DNAPI_VERSION=8 -DNAPI_DISABLE_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED \
  -D_WIN32_WINNT=0x0A00 -DUNICODE -D_UNICODE \
  -I"$addon_inc" -I"$api_inc" \
  native/addon.cc native/sspi/credential.cc native/sspi/context.cc \
  -o "$out" \
  "$tmp/libnode.a" -lsecur32 -ladvapi32 -static-libgcc -static-libstdc++ -static

# The DLL must import the SSPI entry points and N-API from node.exe.
imports="$("$objdump" -p "$out")"
check() {
  if ! grep -qiE "$1" <<<"$imports"; then
    echo "compile-sspi: $out lacks $2" >&2
    exit 1
  fi
}
check 'DLL Name: (secur32|sspicli)\.dll' "an import of secur32.dll / sspicli.dll"
check 'InitializeSecurityContextW' "an import of InitializeSecurityContextW"
check 'AcceptSecurityContext' "an import of AcceptSecurityContext"
check 'DLL Name: node\.exe' "an import of node.exe"
check 'napi_create_function|napi_define_class' "napi_* imports from node.exe"
check 'napi_register_module_v1|napi_module_register' "a module registration entry point"
if grep -qi 'DLL Name: libwinpthread' <<<"$imports"; then
  echo "compile-sspi: $out depends on libwinpthread-1.dll (should be linked statically)" >&2
  exit 1
fi

# The win32-x64 prebuild shipped in the npm tarball ("files": prebuilds), in prebuildify's layout
# (prebuilds/<platform>-<arch>/<name>.napi.node): Windows users get the SSPI backend with nothing to
# build; lib/native/addon.ts loads it on win32 before any build/ output.
prebuild_dir="$root/prebuilds/win32-x64"
mkdir -p "$prebuild_dir"
cp -f "$out" "$prebuild_dir/spnego.napi.node"

echo "SSPI addon compiled and linked: $out (and $prebuild_dir/spnego.napi.node)"
