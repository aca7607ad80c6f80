#!/usr/bin/env python3
"""Puts `brasa bench --json` and `llama-bench -o json` results side by side.

    compare.py --dir OUT [--machine OUT/machine.txt]

Reads OUT/brasa.json and whichever of OUT/brasa-other-tiling.json (prefill on the mat-mul tiling
brasa did not choose), OUT/brasa-f16-tiles.json (prefill on the f16 tiles), OUT/llama-cuda.json, OUT/llama-vulkan.json, OUT/llama-cpu.json exist; writes OUT/side-by-side.json and OUT/side-by-side.md (also printed).
Figures are tokens per second (median over the repetitions for brasa, llama-bench's mean and
its samples for llama.cpp). Ratios are brasa / llama.cpp: above 1 means brasa is faster.
"""
import argparse
import json
import os
import statistics
import sys

# brasa's prefill again on other kernel variants: (file, key in side-by-side.json).
PREFILL_VARIANTS = [("brasa-other-tiling.json", "brasa_other_tiling"), ("brasa-f16-tiles.json", "brasa_f16_tiles")]
PEERS = [("cuda", "llama.cpp CUDA"), ("vulkan", "llama.cpp Vulkan"), ("cpu", "llama.cpp CPU")]
# The targets, per peer: (figure, minimum ratio).
TARGETS = {
    "cuda": [("decode", 0.8), ("prefill@512", 0.8)],
    "vulkan": [("decode", 1.0)],
}


def brasa_figures(report):
    out = {"prefill": {}, "decode": {}, "ttft_s": {}}
    for p in report["prefill"]:
        out["prefill"][str(p["tokens"])] = p["tok_s"]["median"]
        out["ttft_s"][str(p["tokens"])] = p["ttft_s"]["median"]
    for d in report["decode"]:
        out["decode"][str(d["depth"])] = d["tok_s"]["median"]
    out["load_s"] = report["load"]["seconds"]
    out["adapter"] = report["gpu"]["description"]
    return out


def llama_figures(rows):
    out = {"prefill": {}, "decode": {}}
    for r in rows:
        ts = r.get("samples_ts") or [r["avg_ts"]]
        value = statistics.median(ts)
        if r["n_gen"] == 0 and r["n_depth"] == 0:
            out["prefill"][str(r["n_prompt"])] = value
        elif r["n_prompt"] == 0:
            out["decode"][str(r["n_depth"])] = value
    if rows:
        out["backends"] = rows[0].get("backends")
        out["gpu_info"] = rows[0].get("gpu_info")
        out["build_commit"] = rows[0].get("build_commit")
    return out


def ratios(ours, theirs):
    r = {}
    for kind in ("prefill", "decode"):
        for size, value in ours[kind].items():
            peer = theirs[kind].get(size)
            if peer:
                r[f"{kind}@{size}"] = value / peer
    return r


def load_json(path):
    with open(path) as f:
        return json.load(f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--machine")
    args = ap.parse_args()

    brasa_path = os.path.join(args.dir, "brasa.json")
    if not os.path.exists(brasa_path):
        sys.exit(f"compare.py: no {brasa_path}")
    report = load_json(brasa_path)
    result = {
        "machine": open(args.machine).read().splitlines() if args.machine else [],
        "model": report["model"],
        "options": report["options"],
        "brasa": brasa_figures(report),
        "brasa_per_token": [d["per_token"] | {"depth": d["depth"]} for d in report["decode"]],
        "brasa_profile": report.get("profile", []),
        "brasa_profile_prefill": report.get("profile_prefill"),
        "peers": {},
    }
    for file, key in PREFILL_VARIANTS:
        path = os.path.join(args.dir, file)
        if os.path.exists(path):
            other = load_json(path)
            result[key] = {
                "kernels": other["gpu"]["description"].rsplit("kernels: ", 1)[-1],
                "prefill": brasa_figures(other)["prefill"],
            }
    for key, name in PEERS:
        path = os.path.join(args.dir, f"llama-{key}.json")
        if not os.path.exists(path):
            continue
        figures = llama_figures(load_json(path))
        r = ratios(result["brasa"], figures)
        targets = []
        for figure, minimum in TARGETS.get(key, []):
            keys = [k for k in r if k.startswith(figure)]
            for k in keys:
                targets.append({"figure": k, "ratio": r[k], "min": minimum, "met": r[k] >= minimum})
        result["peers"][name] = {"figures": figures, "ratios": r, "targets": targets}

    with open(os.path.join(args.dir, "side-by-side.json"), "w") as f:
        json.dump(result, f, indent=1)
    table = markdown(result)
    with open(os.path.join(args.dir, "side-by-side.md"), "w") as f:
        f.write(table)
    print(table)


def markdown(result):
    lines = [f"Machine: {'; '.join(result['machine'])}", ""]
    peers = list(result["peers"].items())
    head = "| figure (tok/s) | brasa | " + " | ".join(f"{n} | brasa / {n.split()[-1]}" for n, _ in peers) + " |"
    lines += [head, "|" + "---|" * (2 + 2 * len(peers))]
    ours = result["brasa"]
    for kind in ("prefill", "decode"):
        for size, value in ours[kind].items():
            label = f"prefill {size} tokens" if kind == "prefill" else f"decode at depth {size}"
            cells = [label, f"{value:.1f}"]
            for _, peer in peers:
                theirs = peer["figures"][kind].get(size)
                ratio = peer["ratios"].get(f"{kind}@{size}")
                cells += [f"{theirs:.1f}" if theirs else "–", f"{ratio:.2f}" if ratio else "–"]
            lines.append("| " + " | ".join(cells) + " |")
    if not peers:
        lines += ["", "(no llama.cpp results: built none, or dry run without --llama-bench)"]
    for _, key in PREFILL_VARIANTS:
        other = result.get(key)
        if not other:
            continue
        lines += ["", f"brasa prefill with {ours['adapter'].rsplit('kernels: ', 1)[-1]} against {other['kernels']}:"]
        for size, value in other["prefill"].items():
            mine = ours["prefill"].get(size)
            lines.append(f"- {size} tokens: {mine:.1f} against {value:.1f} tok/s" if mine else f"- {size} tokens: – against {value:.1f}")
    for name, peer in peers:
        for t in peer["targets"]:
            met = "met" if t["met"] else "not met"
            lines.append(f"- target {t['figure']} vs {name} >= {t['min']}: {t['ratio']:.2f} ({met})")
    # Where brasa's time goes (brasa bench --profile): the kernels of a token by share, for
    # decode at each depth and for the longest prompt's prefill.
    prefill = [result["brasa_profile_prefill"]] if result.get("brasa_profile_prefill") else []
    for p in result["brasa_profile"] + prefill:
        what = (f"prefill of {p['batch']} tokens" if p.get("batch", 1) > 1 else f"decode at depth {p['depth']}")
        lines += ["", f"brasa {what}: {p['gpu_us_per_token']:.1f} us of GPU time per token",
                  "", "| kernel | dispatches | us | share |", "|---|---|---|---|"]
        for k in p["kernels"]:
            lines.append(f"| {k['kernel']} | {k['dispatches_per_token']:g} | {k['us_per_token']:.1f} | "
                         f"{100 * k['share']:.1f} % |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
