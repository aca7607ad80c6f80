// tiny_logits MODEL ID...  — llama.cpp's logits at every position of one batch, for
// tests/reference/tiny/logits.json (driven by make_tiny_reference.py beside it).
//
// One llama_decode of all ids (positions 0..n-1, all logits kept), CPU only, f32 K/V cache,
// flash attention off, n_ctx = n_batch = n_ubatch = 256, 2 threads. Prints one JSON line per
// position: the log-sum-exp over the vocabulary (double) and the top-20 logits (descending,
// ties -> lower id). Uses only the public llama.h API. Built against a llama.cpp build (not part
// of this repository; see tests/reference/README.md), e.g.
//
//   L=.../vendor/llama.cpp B=.../build
//   g++ -O2 -std=c++17 tiny_logits.cpp -I$L/include -I$L/ggml/include -L$B/bin \
//       -lllama -lggml -lggml-base -Wl,-rpath,$B/bin -o tiny_logits
#include "llama.h"
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <vector>

int main(int argc, char ** argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s MODEL ID...\n", argv[0]); return 2; }
    const int top_k = 20;
    std::vector<llama_token> ids;
    for (int i = 2; i < argc; i++) ids.push_back((llama_token) atoi(argv[i]));
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    mp.n_gpu_layers = 0;
    llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (!model) { fprintf(stderr, "load failed\n"); return 1; }
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 256; cp.n_batch = 256; cp.n_ubatch = 256;
    cp.n_threads = cp.n_threads_batch = 2;
    cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
    cp.type_k = GGML_TYPE_F32; cp.type_v = GGML_TYPE_F32;
    llama_context * ctx = llama_init_from_model(model, cp);
    if (!ctx) { fprintf(stderr, "context failed\n"); return 1; }
    const int n = (int) ids.size();
    llama_batch batch = llama_batch_init(n, 0, 1);
    for (int i = 0; i < n; i++) {
        batch.token[i] = ids[i]; batch.pos[i] = i; batch.n_seq_id[i] = 1;
        batch.seq_id[i][0] = 0; batch.logits[i] = 1;
    }
    batch.n_tokens = n;
    if (llama_decode(ctx, batch) != 0) { fprintf(stderr, "decode failed\n"); return 1; }
    const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
    std::vector<int> order(n_vocab);
    for (int i = 0; i < n; i++) {
        const float * l = llama_get_logits_ith(ctx, i);
        double m = -INFINITY;
        for (int v = 0; v < n_vocab; v++) m = std::max(m, (double) l[v]);
        double s = 0;
        for (int v = 0; v < n_vocab; v++) s += std::exp((double) l[v] - m);
        std::iota(order.begin(), order.end(), 0);
        std::partial_sort(order.begin(), order.begin() + top_k, order.end(), [&](int a, int b) {
            return l[a] > l[b] || (l[a] == l[b] && a < b);
        });
        printf("{\"logsumexp\": %.17g, \"top\": [", m + std::log(s));
        for (int k = 0; k < top_k; k++) printf("%s[%d, %.9g]", k ? ", " : "", order[k], l[order[k]]);
        printf("]}\n");
    }
    llama_batch_free(batch);
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
