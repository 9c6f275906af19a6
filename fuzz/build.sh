#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/targets/ into .build/fuzz/bin/fuzz-NAME, with swiftc directly:
# SwiftPM links an executable's own main, and libFuzzer brings its main. Each module is compiled
# once, in dependency order, as a static library with coverage (-sanitize=fuzzer) and
# AddressSanitizer; the ddp module's @main is renamed so that only libFuzzer's main is linked.
# Needs Swift 6 on Linux (-sanitize=fuzzer) and the packages launch/setup.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
out=.build/fuzz
mkdir -p "$out/bin"
# A package resolve gives the argument-parser checkout the ddp module needs.
[ -d .build/checkouts/swift-argument-parser ] || swift package resolve >/dev/null
parser=.build/checkouts/swift-argument-parser/Sources

# C headers the module maps name (pkg-config, as Package.swift's system libraries do).
cflags=()
for flag in $(pkg-config --cflags ompi-c openblas zlib); do cflags+=(-Xcc "$flag"); done
libs=($(pkg-config --libs ompi-c openblas zlib))
common=(-parse-as-library -g -Onone -I "$out" -I Sources/CMPI -I Sources/CBLAS -I Sources/CZlib "${cflags[@]}")
instrumented=(-sanitize=fuzzer,address)

# module NAME SANITIZERS SOURCE-DIR [extra flags]: a static library and its .swiftmodule.
module() {
    local name=$1 sanitize=$2 dir=$3 sources
    shift 3
    mapfile -t sources < <(find "$dir" -name '*.swift' | sort)  # argument-parser's folders have spaces
    # Kept when no source (nor this script) is newer than the library.
    if [ -f "$out/lib$name.a" ] && [ -z "$(find "$dir" "$0" -newer "$out/lib$name.a" -name '*.s[wh]*' | head -1)" ]; then return; fi
    swiftc "${common[@]}" $sanitize -module-name "$name" -emit-module -emit-module-path "$out/$name.swiftmodule" \
        -emit-library -static -o "$out/lib$name.a" "$@" "${sources[@]}"
}
# argument-parser is optimised (-O after -Onone wins): its reflection dominates a parse otherwise.
module ArgumentParserToolInfo -sanitize=address "$parser/ArgumentParserToolInfo" -suppress-warnings -O
module ArgumentParser -sanitize=address "$parser/ArgumentParser" -suppress-warnings -O
for name in Tensor Collective NN Data Optim Training Report; do
    module "$name" "${instrumented[*]}" "Sources/$name"
done
# The CLI, for parsing hostile argv; -enable-testing lets a target reach its internal commands.
module ddp "${instrumented[*]}" Sources/ddp -enable-testing -Xfrontend -entry-point-function-name -Xfrontend ddp_main

for target in fuzz/targets/*.swift; do
    name=$(basename "$target" .swift)
    swiftc "${common[@]}" "${instrumented[@]}" -module-name "fuzz_${name//-/_}" "$target" -o "$out/bin/fuzz-$name" \
        -L "$out" -lddp -lReport -lTraining -lOptim -lData -lNN -lCollective -lTensor -lArgumentParser -lArgumentParserToolInfo \
        "${libs[@]}" 2> >(grep -v "Cannot export local symbol" >&2)
done
ls "$out/bin"
