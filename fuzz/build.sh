#!/usr/bin/env bash
# Builds the libFuzzer targets in fuzz/targets/ into .build/fuzz/bin/fuzz-NAME, with swiftc directly:
# SwiftPM links an executable's own main, and libFuzzer brings its main. Each module is compiled
# once, in dependency order, as a static library with coverage (-sanitize=fuzzer) and
# AddressSanitizer; the ddp module's @main is renamed so that only libFuzzer's main is linked.
# swift-argument-parser is not ours to fuzz: SwiftPM's own debug build of it is linked as is
# (made by `swift build` when missing), which saves CI a minute of compiling.
# Needs Swift 6 on Linux (-sanitize=fuzzer) and the packages launch/setup.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"
out=.build/fuzz
mkdir -p "$out/bin"
swiftpm=$(swift build --show-bin-path)
# SwiftPM also writes Report's embedded papers.csv as Swift source (PackageResources), compiled in below.
report_resources="$swiftpm/Report.build/DerivedSources/embedded_resources.swift"
[ -f "$swiftpm/Modules/ArgumentParser.swiftmodule" ] && [ -f "$swiftpm/Modules/TOMLKit.swiftmodule" ] \
    && [ -f "$report_resources" ] || swift build --product ddp >/dev/null
# Also SwiftPM's builds of the C targets CSignal and CConv and of TOMLKit (with its C++ core, CTOML).
parser_objects=("$swiftpm"/ArgumentParser.build/*.o "$swiftpm"/ArgumentParserToolInfo.build/*.o
                "$swiftpm"/CSignal.build/*.o "$swiftpm"/CConv.build/*.o "$swiftpm"/TOMLKit.build/*.o "$swiftpm"/CTOML.build/Sources/*.o)

# C headers the module maps name (pkg-config, as Package.swift's system libraries do).
cflags=()
for flag in $(pkg-config --cflags ompi-c openblas zlib); do cflags+=(-Xcc "$flag"); done
libs=($(pkg-config --libs ompi-c openblas zlib))
common=(-parse-as-library -g -Onone -I "$out" -I "$swiftpm/Modules" -I Sources/CMPI -I Sources/CBLAS -I Sources/CZlib
        -I "$swiftpm/CSignal.build" -I "$swiftpm/CConv.build" -I "$swiftpm/CTOML.build" "${cflags[@]}")
instrumented=(-sanitize=fuzzer,address)

# module NAME SANITIZERS SOURCE-DIR [extra flags]: a static library and its .swiftmodule.
module() {
    local name=$1 sanitize=$2 dir=$3 sources
    shift 3
    mapfile -t sources < <(find "$dir" -name '*.swift' | sort)
    # Kept when no source (nor this script) is newer than the library.
    if [ -f "$out/lib$name.a" ] && [ -z "$(find "$dir" "$0" -newer "$out/lib$name.a" -name '*.s[wh]*' | head -1)" ]; then return; fi
    swiftc "${common[@]}" $sanitize -module-name "$name" -emit-module -emit-module-path "$out/$name.swiftmodule" \
        -emit-library -static -o "$out/lib$name.a" "$@" "${sources[@]}"
}
for name in Tensor Collective NN Data Optim Training; do
    module "$name" "${instrumented[*]}" "Sources/$name"
done
module Report "${instrumented[*]}" Sources/Report "$report_resources"
# The CLI, for parsing hostile argv; -enable-testing lets a target reach its internal commands.
module ddp "${instrumented[*]}" Sources/ddp -enable-testing -Xfrontend -entry-point-function-name -Xfrontend ddp_main

for target in fuzz/targets/*.swift; do
    name=$(basename "$target" .swift)
    swiftc "${common[@]}" "${instrumented[@]}" -module-name "fuzz_${name//-/_}" "$target" -o "$out/bin/fuzz-$name" \
        -L "$out" -lddp -lReport -lTraining -lOptim -lData -lNN -lCollective -lTensor "${parser_objects[@]}" \
        "${libs[@]}" -lstdc++ 2> >(grep -v "Cannot export local symbol" >&2)
done
ls "$out/bin"
