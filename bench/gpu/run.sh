#!/usr/bin/env bash
# brasa native (wgpu on Vulkan) and llama.cpp (CUDA, and Vulkan when it builds) side by side on
# one NVIDIA GPU machine, same model and prompt sizes, one run. See bench/README.md.
#
# On the GPU machine (through the device tool, after bench/gpu/pack.sh here):
#   bash bench/gpu/run.sh --carry .gpu-carry --out $OUT --steps build   # ~5-8 min: llama.cpp x2
#   bash bench/gpu/run.sh --carry .gpu-carry --out $OUT --steps bench   # both benches + compare
# (--steps all does both; builds and the model are kept in --work between calls on a warm machine.)
#
# Dry run, on any machine (CI's smoke test): no builds, brasa on whatever adapter there is, and
# llama.cpp only if --llama-bench gives an already-built llama-bench:
#   bash bench/gpu/run.sh --dry-run --brasa target/debug/brasa --like models/M.gguf --out DIR \
#        --prompt-sizes 4 --decode-tokens 2 --depths 0 --reps 1
#
# Output in --out: side-by-side.json, side-by-side.md, and each tool's raw JSON and log.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CARRY="" OUT="" WORK="/tmp/brasa-gpu-bench" STEPS="all" DRY=0 BRASA="" LIKE="" LLAMA_BENCH=""
PROMPTS="16,128,512" DECODE=128 DEPTHS="0,2048" REPS=3
usage() { sed -n '2,16p' "$0" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --carry) CARRY="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --work) WORK="$2"; shift 2 ;;
        --steps) STEPS="$2"; shift 2 ;;
        --dry-run) DRY=1; shift ;;
        --brasa) BRASA="$2"; shift 2 ;;
        --like) LIKE="$2"; shift 2 ;;
        --llama-bench) LLAMA_BENCH="$2"; shift 2 ;;
        --prompt-sizes) PROMPTS="$2"; shift 2 ;;
        --decode-tokens) DECODE="$2"; shift 2 ;;
        --depths) DEPTHS="$2"; shift 2 ;;
        --reps) REPS="$2"; shift 2 ;;
        -h|--help) usage ;;
        *) echo "run.sh: unknown argument $1" >&2; usage ;;
    esac
done
[[ -n "$OUT" ]] || { echo "run.sh: --out is required" >&2; usage; }
case "$STEPS" in all|build|bench) ;; *) echo "run.sh: --steps is all, build or bench" >&2; exit 2 ;; esac
mkdir -p "$OUT" "$WORK"
OUT="$(cd "$OUT" && pwd)"
[[ -z "$CARRY" ]] || CARRY="$(cd "$CARRY" && pwd)"
log() { echo "== $*" >&2; }
have() { command -v "$1" >/dev/null 2>&1; }

# --- tools from the carry folder --------------------------------------------------------------
if [[ -n "$CARRY" && ! -f "$WORK/.unpacked" ]]; then
    log "unpacking the carried Vulkan loader, glslc and headers"
    # The loader goes to / (the device README's recipe); glslc and the headers to a prefix.
    for deb in "$CARRY"/debs/libvulkan1_*.deb; do [[ -f "$deb" ]] && dpkg -x "$deb" /; done
    have ldconfig && ldconfig || true
    mkdir -p "$WORK/vk"
    for deb in "$CARRY"/debs/{glslc,libshaderc1,libvulkan-dev}_*.deb; do [[ -f "$deb" ]] && dpkg -x "$deb" "$WORK/vk"; done
    if ls "$CARRY"/wheels/*.whl >/dev/null 2>&1; then
        python3 -m pip install -q --no-index --no-deps --no-compile --target "$WORK/site" "$CARRY"/wheels/*.whl
    fi
    touch "$WORK/.unpacked"
fi
export PYTHONPATH="$WORK/site${PYTHONPATH:+:$PYTHONPATH}"
export LD_LIBRARY_PATH="$WORK/vk/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# The NVIDIA driver's Vulkan ICD lives outside the default search path on the lent machines.
NV_ICD=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[[ -z "${VK_DRIVER_FILES:-}" && -f "$NV_ICD" ]] && export VK_DRIVER_FILES="$NV_ICD"

if [[ -z "$BRASA" ]]; then
    if [[ -n "$CARRY" && -x "$CARRY/brasa" ]]; then BRASA="$CARRY/brasa"; else BRASA="$ROOT/target/release/brasa"; fi
fi
[[ -x "$BRASA" ]] || { echo "run.sh: no brasa binary at $BRASA (bench/gpu/pack.sh builds one)" >&2; exit 2; }
PY=python3
[[ -x "$ROOT/.venv/bin/python" ]] && PY="$ROOT/.venv/bin/python"

# --- the model: the real header with random blocks (bench/gpu/make_model.py) -------------------
MODEL="$WORK/bench-model.gguf"
if [[ ! -f "$MODEL" ]]; then
    log "writing the benchmark model"
    if [[ -n "$LIKE" ]]; then
        "$PY" "$HERE/make_model.py" --like "$LIKE" --out "$MODEL.tmp"
    elif [[ -n "$CARRY" && -f "$CARRY/model.header" ]]; then
        "$PY" "$HERE/make_model.py" --header "$CARRY/model.header" --out "$MODEL.tmp"
    else
        echo "run.sh: give --like MODEL.gguf or a --carry folder with model.header" >&2
        exit 2
    fi
    mv "$MODEL.tmp" "$MODEL"
fi

# --- llama.cpp builds ---------------------------------------------------------------------------
build_llama() { # build_llama NAME CMAKE_ARGS...
    local name="$1"; shift
    local dir="$WORK/llama-$name"
    [[ -x "$dir/bin/llama-bench" ]] && return 0
    log "building llama.cpp ($name)"
    if [[ ! -d "$WORK/llama.cpp" ]]; then
        tar xzf "$CARRY/llama.cpp.tar.gz" -C "$WORK"
    fi
    cmake -S "$WORK/llama.cpp" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
        -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_SERVER=OFF -DGGML_NATIVE=ON "$@" \
        >"$OUT/build-$name.log" 2>&1 &&
        cmake --build "$dir" -j"$(nproc)" --target llama-bench >>"$OUT/build-$name.log" 2>&1
}
if [[ "$DRY" == 0 && "$STEPS" != bench ]]; then
    [[ -n "$CARRY" && -f "$CARRY/llama.cpp.tar.gz" ]] || { echo "run.sh: no $CARRY/llama.cpp.tar.gz" >&2; exit 2; }
    if have nvcc; then
        build_llama cuda -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=native ||
            log "llama.cpp CUDA build failed (see build-cuda.log)"
    else
        log "no nvcc: skipping llama.cpp CUDA"
    fi
    VK="$WORK/vk/usr"
    if [[ -x "$VK/bin/glslc" ]]; then
        # The loader itself was unpacked to / above; the dev package's libvulkan.so link would dangle.
        build_llama vulkan -DGGML_VULKAN=ON -DVulkan_INCLUDE_DIR="$VK/include" \
            -DVulkan_LIBRARY="$(ldconfig -p | awk '/libvulkan.so.1 .*x86-64/{print $NF; exit}')" \
            -DVulkan_GLSLC_EXECUTABLE="$VK/bin/glslc" ||
            log "llama.cpp Vulkan build failed (see build-vulkan.log)"
    else
        log "no glslc: skipping llama.cpp Vulkan"
    fi
fi
[[ "$STEPS" == build ]] && { log "build step done"; exit 0; }

# --- benches --------------------------------------------------------------------------------------
describe_machine() {
    {
        echo "date: $(date -u +%FT%TZ)"
        echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
        have nvidia-smi && nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm,clocks.max.mem \
            --format=csv,noheader | sed 's/^/gpu: /'
        echo "brasa: $("$BRASA" --version 2>/dev/null || echo unknown)"
    } >"$OUT/machine.txt"
}
describe_machine

log "brasa bench"
# --profile: which kernel takes what share of a decoded token (GPU timestamps), for the gap.
"$BRASA" --verbose bench --model "$MODEL" --json --profile --prompt-sizes "$PROMPTS" --decode-tokens "$DECODE" \
    --depths "$DEPTHS" --reps "$REPS" >"$OUT/brasa.json" 2>"$OUT/brasa.log" ||
    { tail -20 "$OUT/brasa.log" >&2; echo "run.sh: brasa bench failed" >&2; exit 1; }
# The prefill again on the mat-mul tiling the GPU did not get by default (workgroup-memory tiles on
# a GPU, register tiles on emulators: gpu::variants::MatmulTiling), so the choice is measured.
log "brasa bench (other mat-mul tiling)"
other_tiling=$(grep -q "workgroup mat-mul tiles" "$OUT/brasa.json" && echo nowgmatmul || echo wgmatmul)
BRASA_VARIANTS=$other_tiling "$BRASA" bench --model "$MODEL" --json --no-roofline --prompt-sizes "$PROMPTS" \
    --decode-tokens 1 --depths 0 --reps "$REPS" >"$OUT/brasa-other-tiling.json" 2>>"$OUT/brasa.log" ||
    { log "brasa bench (other tiling) failed"; rm -f "$OUT/brasa-other-tiling.json"; }
# And on the f16 workgroup tiles (asked for only, gpu::MatmulTiling::WorkgroupF16) where the
# adapter has shader-f16, so that a GPU run says whether they should become the default.
if grep -q "shader-f16" "$OUT/brasa.json"; then
    log "brasa bench (f16 mat-mul tiles)"
    BRASA_VARIANTS=wgmatmul,f16 "$BRASA" bench --model "$MODEL" --json --no-roofline --prompt-sizes "$PROMPTS" \
        --decode-tokens 1 --depths 0 --reps "$REPS" >"$OUT/brasa-f16-tiles.json" 2>>"$OUT/brasa.log" ||
        { log "brasa bench (f16 tiles) failed"; rm -f "$OUT/brasa-f16-tiles.json"; }
fi

run_llama_bench() { # run_llama_bench NAME BINARY NGL
    log "llama-bench ($1)"
    "$2" -m "$MODEL" -p "$PROMPTS" -n "$DECODE" -d "$DEPTHS" -r "$REPS" -ngl "$3" -o json \
        >"$OUT/llama-$1.json" 2>"$OUT/llama-$1.log" || { log "llama-bench ($1) failed"; rm -f "$OUT/llama-$1.json"; }
}
for name in cuda vulkan; do
    bin="$WORK/llama-$name/bin/llama-bench"
    [[ -x "$bin" ]] && run_llama_bench "$name" "$bin" 99
done
[[ -n "$LLAMA_BENCH" ]] && run_llama_bench cpu "$LLAMA_BENCH" 0

"$PY" "$HERE/compare.py" --dir "$OUT" --machine "$OUT/machine.txt"
