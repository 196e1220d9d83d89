#!/usr/bin/env bash
# Every CUDA kernel of scn as ptxas builds it for sm_90 (the H100/H200): registers, spills, stack frame, static
# shared memory, and the theoretical occupancy at the block size its launcher uses, against the sm_90 limits
# (64 warps, 32 blocks, 65,536 registers and 228 KiB of shared memory per multiprocessor). No GPU needed: each
# kernels/cuda/*.cu (and core/cuda/*.cu, where kernels live there) is compiled to device code only, with the build's own flags.
#   tools/kernel-report.sh            the table, as Markdown, on stdout
#   tools/kernel-report.sh --write    into docs/kernels.md
#   tools/kernel-report.sh --check    exit 1 when a kernel spills registers to local memory (the ctest
#                                     kernels.no_spills; exit 77, skipped, without nvcc)
#   SCN_NVCC_FLAGS="..."              extra nvcc flags (SCN_NVCC_FLAGS=-maxrregcount=24 makes kernels spill: how
#                                     the check was seen to fail)
# The block size is read from the launch (`kernel<<<grid, BLOCK, ...>>>`), its constants resolved from the
# sources; a kernel launched through a pointer or a helper shows the default 256 with a mark. Dynamic shared
# memory (the fused patch pursuit's 64 KiB of codes, more with AᵀA) is set at launch, not known to ptxas: the
# table says where it applies.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-print}
case $mode in print|--write|--check) ;; *) echo "usage: $0 [--write|--check]" >&2; exit 2 ;; esac
nvcc=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
if [ ! -x "$nvcc" ]; then
  echo "kernel-report: nvcc not found (PATH or /usr/local/cuda/bin): nothing to report" >&2
  [ "$mode" = --check ] && exit 77
  exit 1
fi
cuda_root=$(dirname "$(dirname "$(readlink -f "$nvcc")")")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
shopt -s nullglob
files=(kernels/cuda/*.cu core/cuda/*.cu)
jobs=$(nproc)
# Device code only (-cubin): a few seconds a file. One log per file, ptxas's -v report in it.
printf '%s\n' "${files[@]}" | xargs -P "$jobs" -I{} sh -c \
  '"$0" -std=c++20 -O3 -arch=sm_90 -cubin --expt-relaxed-constexpr -DSCN_WITH_CUDA=1 -I. -isystem "$1/include" \
     -Xptxas -v ${SCN_NVCC_FLAGS:-} -o "$2/$(basename {}).cubin" {} > "$2/$(basename {}).log" 2>&1 || { cat "$2/$(basename {}).log"; exit 255; }' \
  "$nvcc" "$cuda_root" "$out"
python3 - "$mode" "$out" "${files[@]}" <<'PY'
import os, re, subprocess, sys

mode, logdir, files = sys.argv[1], sys.argv[2], sys.argv[3:]
REGS_SM, WARPS_SM, BLOCKS_SM, SMEM_SM, SMEM_BLOCK_RESERVED = 65536, 64, 32, 233472, 1024

def demangle(names):
    try:
        r = subprocess.run(["c++filt"], input="\n".join(names), capture_output=True, text=True, check=True)
        return r.stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return names

def short(demangled):
    # The name up to its parameter list (the first "(" outside template brackets), without namespaces.
    text = re.sub(r"\(anonymous namespace\)::", "", demangled).replace("scn::cuda::", "").replace("scn::", "")
    depth = 0
    for i, ch in enumerate(text):
        depth += ch == "<"
        depth -= ch == ">"
        if ch == "(" and depth == 0:
            text = text[:i]
            break
    return text[5:] if text.startswith("void ") else text

# Constants the launches name: `constexpr int kName = value;` anywhere in the CUDA sources.
constants = {}
for path in files + ["kernels/cuda/launch.cuh", "kernels/cuda/map.cuh", "kernels/cuda/per_channel.cuh"]:
    for m in re.finditer(r"constexpr\s+int\s+(k\w+)\s*=\s*([^;]+);", open(path).read()):
        constants[m.group(1)] = m.group(2)

def evaluate(expr):
    for _ in range(4):
        expr = re.sub(r"\bk\w+\b", lambda m: "(" + constants.get(m.group(0), "None") + ")", expr)
    try:
        return int(eval(expr, {"__builtins__": {}}))
    except Exception:
        return None

def block_size(source, name):
    base = re.escape(name.split("<")[0])
    m = re.search(base + r"(?:<[^<>]*>)?<<<(?:[^,<>()]|<[^<>]*>|\((?:[^()]|\([^()]*\))*\))*,\s*([^,>]+?)\s*(?:,|>>>)", source)
    return (evaluate(m.group(1)), True) if m else (256, False)

def occupancy(regs, smem, threads):
    warps = (threads + 31) // 32
    regs_warp = -(-regs * 32 // 256) * 256 if regs else 0
    by_regs = (REGS_SM // regs_warp) // warps if regs_warp else BLOCKS_SM
    by_smem = SMEM_SM // (smem + SMEM_BLOCK_RESERVED) if smem else BLOCKS_SM
    blocks = min(by_regs, by_smem, WARPS_SM // warps, BLOCKS_SM)
    return blocks, blocks * warps / WARPS_SM

rows = []
for path in files:
    log = open(os.path.join(logdir, os.path.basename(path) + ".log")).read()
    source = open(path).read()
    entries = re.findall(r"Compiling entry function '(\w+)' for 'sm_90'\n.*?Function properties for \1\n\s*(\d+) bytes stack frame, "
                         r"(\d+) bytes spill stores, (\d+) bytes spill loads\n.*?Used (\d+) registers(?:, used \d+ barriers)?(?:, (\d+) bytes smem)?",
                         log, re.S)
    names = demangle([e[0] for e in entries])
    for e, full in zip(entries, names):
        name = short(full)
        threads, seen = block_size(source, name)
        regs, smem = int(e[4]), int(e[5] or 0)
        blocks, occ = occupancy(regs, smem, threads or 256)
        dynamic = "patch_pursuit" in path and "pursue_tiles" in name
        rows.append(dict(file=path, name=name, regs=regs, smem=smem, stack=int(e[1]), spill=int(e[2]) + int(e[3]),
                         threads=threads or 256, seen=seen, blocks=blocks, occ=occ, dynamic=dynamic))

spilling = [r for r in rows if r["spill"] > 0 and r["file"].startswith("kernels/")]
if mode == "--check":
    for r in spilling:
        print(f"kernel-report: {r['file']}: {r['name']} spills {r['spill']} bytes to local memory")
    print(f"kernel-report: {len(rows)} kernels in {len(files)} files, {len(spilling)} spilling")
    sys.exit(1 if spilling else 0)

lines = ["# CUDA kernels on sm_90", "",
         "Generated by `tools/kernel-report.sh --write` (ptxas of the CUDA toolkit, device code only, `-O3 -arch=sm_90`):",
         "every kernel's registers per thread, static shared memory, stack frame and spilled bytes, and the",
         "theoretical occupancy at the block size its launcher uses, against an sm_90 multiprocessor's 64 warps,",
         "32 blocks, 65,536 registers and 228 KiB of shared memory. A block size marked * was not found in a",
         "`<<<…>>>` launch (a kernel launched through a pointer or a helper): 256, the default, is assumed. The",
         "ctest `kernels.no_spills` fails when a kernel under `kernels/` spills. Occupancy is an upper bound, not a",
         "measurement: a GPU run (`tools/gpu-check.sh`) measures.", "",
         f"{len(rows)} kernels; {len(spilling)} spill.", "",
         "| file | kernel | regs | smem B | stack B | spill B | block | blocks/SM | occupancy |",
         "|---|---|---|---|---|---|---|---|---|"]
for r in sorted(rows, key=lambda r: (r["file"], r["name"])):
    occ = f"{100 * r['occ']:.0f} %" + (" (less: 64+ KiB dynamic shared memory)" if r["dynamic"] else "")
    lines.append(f"| {os.path.basename(r['file'])} | `{r['name']}` | {r['regs']} | {r['smem']} | {r['stack']} | {r['spill']} "
                 f"| {r['threads']}{'' if r['seen'] else '*'} | {r['blocks']} | {occ} |")
text = "\n".join(lines) + "\n"
if mode == "--write":
    open("docs/kernels.md", "w").write(text)
    print(f"kernel-report: wrote docs/kernels.md ({len(rows)} kernels)")
else:
    sys.stdout.write(text)
PY
